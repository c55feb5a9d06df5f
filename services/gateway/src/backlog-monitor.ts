import {
  QueueStatePoller,
  type Logger,
  type QueueName,
  type QueueStateReader,
} from '@telegram-receiver/core';

/** Options of {@link BacklogMonitor}. */
export interface BacklogMonitorOptions {
  /** The shared queue reader (core), also used by the metrics service. */
  reader: Pick<QueueStateReader, 'read'>;
  /** The queue watched (`updates` in production). */
  queue: QueueName;
  /**
   * Items waiting to run (wait, prioritized, delayed, parked behind their lane) at and above which
   * {@link BacklogMonitor.full} is true.
   */
  maxBacklog: number;
  /** Time between two polls. @defaultValue 250 */
  intervalMs?: number;
  /** Told every new backlog size (the `gateway_backlog` gauge). */
  onSample?: (size: number) => void;
  logger: Logger;
}

/**
 * Keeps the size of the updates backlog fresh in the background (core's {@link QueueStatePoller}),
 * so the webhook can refuse work (503 + Retry-After; Telegram keeps the update) with a field read
 * instead of a Redis round trip on every request. While Redis is unreachable the last value is
 * kept: the webhook's own write fails then anyway, and answers 503 for that reason.
 */
export class BacklogMonitor {
  readonly #poller: QueueStatePoller;
  readonly #maxBacklog: number;

  constructor(opts: BacklogMonitorOptions) {
    this.#maxBacklog = opts.maxBacklog;
    const onSample = opts.onSample;
    this.#poller = new QueueStatePoller({
      reader: opts.reader,
      queues: [opts.queue],
      intervalMs: opts.intervalMs ?? 250,
      maxAgeMs: Number.POSITIVE_INFINITY,
      onSample: onSample && (states => onSample(states[0]?.waiting ?? 0)),
      logger: opts.logger,
    });
  }

  /** Last backlog seen (0 before the first read). */
  get size(): number {
    return this.#poller.sample()?.states[0]?.waiting ?? 0;
  }

  /** True when the backlog has reached `maxBacklog`. */
  get full(): boolean {
    return this.size >= this.#maxBacklog;
  }

  /**
   * Poll now and then every `intervalMs` until {@link stop}. Does not wait for the first answer:
   * while Redis is unreachable at start-up a poll waits for it, and the gateway must listen (and
   * answer 503) meanwhile.
   */
  start(): void {
    this.#poller.start();
  }

  /** Resolves once the poll in progress (if any) is done; for tests and shutdown. */
  async settled(): Promise<void> {
    await this.#poller.settled();
  }

  /** Read the backlog now. Never throws. */
  async poll(): Promise<void> {
    await this.#poller.poll();
  }

  /** Stop polling. Does not wait for a poll stuck on an unreachable Redis (closing the connection ends it). */
  stop(): void {
    this.#poller.stop();
  }
}
