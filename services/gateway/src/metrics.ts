import {
  METRIC_PREFIX,
  observeWithExemplar,
  registerClientMetrics,
  type MetricsRegistry,
} from '@telegram-receiver/core';
import { Counter, Gauge, Histogram, collectDefaultMetrics } from 'prom-client';

/** Why the webhook refused an update (the `reason` label of `telegram_receiver_webhook_rejections_total`). */
export type RejectionReason =
  | 'unauthorized'
  | 'throttled'
  | 'bad_request'
  | 'too_large'
  | 'unsupported_media_type'
  | 'backlog_full'
  | 'redis_unavailable';

/** Options of {@link GatewayMetrics}. */
export interface GatewayMetricsOptions {
  /** Where the metrics are registered: an OpenMetrics registry (`createMetricsRegistry`), one per gateway. */
  registry: MetricsRegistry;
  /**
   * Also collect prom-client's default Node metrics (event loop lag, heap, GC). Installs process
   * hooks, so only `main.ts` turns it on.
   * @defaultValue false
   */
  defaultMetrics?: boolean;
}

// Webhook answers take milliseconds; the low buckets are where the p99 target (10 ms) lives.
const LATENCY_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * The gateway's Prometheus metrics. Labels are route patterns, queue names, bot names and fixed
 * reasons only — never a raw path, a query string or a secret — so cardinality stays bounded.
 * Label children are cached, so the hot path does no label hashing.
 */
export class GatewayMetrics {
  readonly #requests: Counter<'route' | 'status'>;
  readonly #duration: Histogram<'route' | 'status'>;
  readonly #enqueue: Histogram<'queue'>;
  readonly #rejections: Counter<'reason'>;
  readonly #authFailures: Counter<'route' | 'outcome'>;
  readonly #batchSize: Histogram;
  readonly #enqueued: Counter<'bot' | 'result'>;
  readonly #backlog: Gauge<'queue'>;
  readonly #requestChildren = new Map<
    string,
    {
      labels: { route: string; status: string };
      count: Counter.Internal;
      duration: Histogram.Internal<'route' | 'status'>;
    }
  >();
  readonly #enqueueChildren = new Map<string, Histogram.Internal<'queue'>>();
  readonly #enqueuedChildren = new Map<string, Counter.Internal>();

  constructor(opts: GatewayMetricsOptions) {
    const registers = [opts.registry];
    if (opts.defaultMetrics === true) collectDefaultMetrics({ register: opts.registry });
    registerClientMetrics(opts.registry);
    this.#requests = new Counter({
      name: `${METRIC_PREFIX}http_requests_total`,
      help: 'HTTP requests answered, by route pattern and status code.',
      labelNames: ['route', 'status'],
      registers,
    });
    this.#duration = new Histogram({
      name: `${METRIC_PREFIX}http_request_duration_seconds`,
      help: 'Time from request start to response, by route pattern and status code.',
      labelNames: ['route', 'status'],
      buckets: LATENCY_BUCKETS,
      registers,
      enableExemplars: true,
    });
    this.#batchSize = new Histogram({
      name: `${METRIC_PREFIX}webhook_batch_size`,
      help: 'Updates written to Redis in one batch (those that arrived in one event-loop turn).',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    });
    this.#enqueue = new Histogram({
      name: `${METRIC_PREFIX}enqueue_duration_seconds`,
      help: 'Time to make a job durable in Redis (all writes of one request), by queue.',
      labelNames: ['queue'],
      buckets: LATENCY_BUCKETS,
      registers,
      enableExemplars: true,
    });
    this.#rejections = new Counter({
      name: `${METRIC_PREFIX}webhook_rejections_total`,
      help: 'Webhook requests answered without storing the update, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.#authFailures = new Counter({
      name: `${METRIC_PREFIX}auth_failures_total`,
      help: 'Requests with a wrong or missing webhook, callback or admin secret, by outcome (401, or 429 once throttled).',
      labelNames: ['route', 'outcome'],
      registers,
    });
    this.#enqueued = new Counter({
      name: `${METRIC_PREFIX}updates_enqueued_total`,
      help: 'Updates made durable, by bot; result=duplicate when the update was already stored (Telegram re-delivery).',
      labelNames: ['bot', 'result'],
      registers,
    });
    this.#backlog = new Gauge({
      // Not `queue_backlog`: the metrics service's gauge of that name counts running jobs too.
      name: `${METRIC_PREFIX}gateway_backlog`,
      help: "Items waiting to run (running jobs not included: wait, prioritized, delayed, waiting-children, parked behind their lane), as the gateway's admission check last read them; MAX_BACKLOG applies to it.",
      labelNames: ['queue'],
      registers,
    });
  }

  /** Count and time one answered request. `route` must be a route pattern, never the raw path. */
  request(route: string, status: number, seconds: number): void {
    const key = `${route} ${status}`;
    let child = this.#requestChildren.get(key);
    if (child === undefined) {
      const labels = { route, status: String(status) };
      child = { labels, count: this.#requests.labels(labels), duration: this.#duration.labels(labels) };
      this.#requestChildren.set(key, child);
    }
    child.count.inc();
    observeWithExemplar(this.#duration, child.duration, child.labels, seconds);
  }

  /** Size of one Redis write batch of the webhook (updates that arrived in one event-loop turn). */
  batchSize(size: number): void {
    this.#batchSize.observe(size);
  }

  enqueueDuration(queue: string, seconds: number): void {
    let child = this.#enqueueChildren.get(queue);
    if (child === undefined) {
      child = this.#enqueue.labels({ queue });
      this.#enqueueChildren.set(queue, child);
    }
    observeWithExemplar(this.#enqueue, child, { queue }, seconds);
  }

  rejection(reason: RejectionReason): void {
    this.#rejections.inc({ reason });
  }

  authFailure(route: 'webhook' | 'callback' | 'admin', outcome: 'unauthorized' | 'throttled'): void {
    this.#authFailures.inc({ route, outcome });
  }

  enqueued(bot: string, result: 'new' | 'duplicate'): void {
    const key = `${bot} ${result}`;
    let child = this.#enqueuedChildren.get(key);
    if (child === undefined) {
      child = this.#enqueued.labels({ bot, result });
      this.#enqueuedChildren.set(key, child);
    }
    child.inc();
  }

  backlog(queue: string, size: number): void {
    this.#backlog.set({ queue }, size);
  }
}
