import {
  METRIC_PREFIX,
  activeExemplar,
  createMetricsRegistry,
  registerClientMetrics,
} from '@telegram-receiver/core';
import { Counter, Histogram, collectDefaultMetrics } from 'prom-client';

/** Options of {@link WorkerMetrics}. */
export interface WorkerMetricsOptions {
  /** Also collect Node's default process metrics (event loop lag, heap, GC). @defaultValue true */
  defaultMetrics?: boolean;
}

/** How a call to an upstream service ended; a closed set so labels stay low-cardinality. */
export type UpstreamOutcome =
  'ok' | 'rejected_4xx' | 'rate_limited' | 'rejected_5xx' | 'connect_error' | 'timeout' | 'reset' | 'error';

/** Map an error thrown by a client to its {@link UpstreamOutcome}. */
export function outcomeOf(err: unknown): UpstreamOutcome {
  if (typeof err !== 'object' || err === null) return 'error';
  const e = err as { status?: unknown; phase?: unknown };
  if (typeof e.status === 'number') {
    if (e.status === 429) return 'rate_limited';
    return e.status >= 500 ? 'rejected_5xx' : 'rejected_4xx';
  }
  if (e.phase === 'connect') return 'connect_error';
  if (e.phase === 'timeout') return 'timeout';
  if (e.phase === 'reset') return 'reset';
  return 'error';
}

/**
 * The worker's Prometheus metrics, on a registry of their own (so several services can live in one
 * test process). Labels are closed sets: queue, result, service, API method, outcome, reply kind,
 * notice reason.
 * Never a chat id, a token or message text.
 */
export class WorkerMetrics {
  readonly registry = createMetricsRegistry();
  readonly jobs: Counter<'queue' | 'result'>;
  readonly jobAttempts: Counter<'queue'>;
  readonly jobDuration: Histogram<'queue'>;
  readonly jobWait: Histogram<'queue'>;
  readonly pacingWait: Histogram;
  readonly upstreamCalls: Counter<'upstream' | 'method' | 'outcome'>;
  readonly upstreamDuration: Histogram<'upstream' | 'method'>;
  readonly repliesSent: Counter<'kind'>;
  readonly noticesSent: Counter<'reason' | 'outcome'>;

  constructor(opts: WorkerMetricsOptions = {}) {
    const registers = [this.registry];
    this.jobs = new Counter({
      name: `${METRIC_PREFIX}jobs_total`,
      help: 'Job attempts finished by queue and result (completed, retried, failed = dead letter, delayed).',
      labelNames: ['queue', 'result'],
      registers,
    });
    this.jobAttempts = new Counter({
      name: `${METRIC_PREFIX}job_attempts_total`,
      help: 'Job attempts started, by queue (attempts beyond the jobs are retries).',
      labelNames: ['queue'],
      registers,
    });
    this.jobWait = new Histogram({
      name: `${METRIC_PREFIX}job_wait_seconds`,
      help: 'Time from enqueue to the start of an attempt, by queue: queueing plus the wait behind earlier updates of the same chat (lane wait) and backoff.',
      labelNames: ['queue'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
      enableExemplars: true,
    });
    this.pacingWait = new Histogram({
      name: `${METRIC_PREFIX}pacing_wait_seconds`,
      help: "Time a send waited for its slot under Telegram's per-chat, per-group and per-bot limits.",
      buckets: [0, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10],
      registers,
    });
    this.jobDuration = new Histogram({
      name: `${METRIC_PREFIX}job_duration_seconds`,
      help: 'Time a processor spent on one job attempt, by queue.',
      labelNames: ['queue'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
      enableExemplars: true,
    });
    this.upstreamCalls = new Counter({
      name: `${METRIC_PREFIX}upstream_calls_total`,
      help: 'Calls to Telegram, cursor-runner and ElevenLabs by upstream, method and outcome.',
      labelNames: ['upstream', 'method', 'outcome'],
      registers,
    });
    this.upstreamDuration = new Histogram({
      name: `${METRIC_PREFIX}upstream_call_duration_seconds`,
      help: 'Duration of calls to upstream services (retries inside a call included), by upstream and method.',
      labelNames: ['upstream', 'method'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
      enableExemplars: true,
    });
    this.repliesSent = new Counter({
      name: `${METRIC_PREFIX}replies_sent_total`,
      help: 'Messages delivered to chats by kind (text, document, voice, audio).',
      labelNames: ['kind'],
      registers,
    });
    this.noticesSent = new Counter({
      name: `${METRIC_PREFIX}still_working_notices_total`,
      help: '"Still working" notices sent to chats, by reason (handoff: cursor-runner\'s hand-off had an unknown outcome; send: the answer\'s did) and outcome (sent, or unknown: it may have been).',
      labelNames: ['reason', 'outcome'],
      registers,
    });
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    registerClientMetrics(this.registry);
  }

  /** Observe a latency, with the active trace as its exemplar when there is one. */
  observe<L extends string>(
    histogram: Histogram<L>,
    labels: Partial<Record<L, string>>,
    seconds: number,
  ): void {
    const exemplarLabels = activeExemplar<L>();
    histogram.observe({
      labels,
      value: seconds,
      ...(exemplarLabels === undefined ? {} : { exemplarLabels }),
    });
  }

  /** Run one upstream call and record its outcome and duration. Re-throws its error. */
  async track<T>(upstream: string, method: string, fn: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      const value = await fn();
      this.upstreamCalls.inc({ upstream, method, outcome: 'ok' });
      return value;
    } catch (err) {
      this.upstreamCalls.inc({ upstream, method, outcome: outcomeOf(err) });
      throw err;
    } finally {
      this.observe(this.upstreamDuration, { upstream, method }, (performance.now() - start) / 1000);
    }
  }
}
