import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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
 * test process). Labels are closed sets: queue, result, service, API method, outcome, reply kind.
 * Never a chat id, a token or message text.
 */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly jobs: Counter<'queue' | 'result'>;
  readonly jobDuration: Histogram<'queue'>;
  readonly upstreamCalls: Counter<'service' | 'method' | 'outcome'>;
  readonly upstreamDuration: Histogram<'service' | 'method'>;
  readonly repliesSent: Counter<'kind'>;

  constructor(opts: WorkerMetricsOptions = {}) {
    const registers = [this.registry];
    this.jobs = new Counter({
      name: 'worker_jobs_total',
      help: 'Jobs finished by queue and result (completed, retried, failed, delayed).',
      labelNames: ['queue', 'result'],
      registers,
    });
    this.jobDuration = new Histogram({
      name: 'worker_job_duration_seconds',
      help: 'Time a processor spent on one job attempt.',
      labelNames: ['queue'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.upstreamCalls = new Counter({
      name: 'worker_upstream_calls_total',
      help: 'Calls to Telegram, cursor-runner and ElevenLabs by service, method and outcome.',
      labelNames: ['service', 'method', 'outcome'],
      registers,
    });
    this.upstreamDuration = new Histogram({
      name: 'worker_upstream_call_duration_seconds',
      help: 'Duration of calls to upstream services.',
      labelNames: ['service', 'method'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.repliesSent = new Counter({
      name: 'worker_replies_sent_total',
      help: 'Messages delivered to chats by kind (text, document, voice, audio).',
      labelNames: ['kind'],
      registers,
    });
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Run one upstream call and record its outcome and duration. Re-throws its error. */
  async track<T>(service: string, method: string, fn: () => Promise<T>): Promise<T> {
    const end = this.upstreamDuration.startTimer({ service, method });
    try {
      const value = await fn();
      this.upstreamCalls.inc({ service, method, outcome: 'ok' });
      return value;
    } catch (err) {
      this.upstreamCalls.inc({ service, method, outcome: outcomeOf(err) });
      throw err;
    } finally {
      end();
    }
  }
}
