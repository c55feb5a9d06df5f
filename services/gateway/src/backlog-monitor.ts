import type { Logger, QueueName, QueueStateReader } from '@telegram-receiver/core';

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
  /** Told every new backlog size (the `queue_backlog` gauge). */
  onSample?: (size: number) => void;
  logger: Logger;
}

/**
 * Keeps the size of the updates backlog fresh in the background, so the webhook can refuse work
 * (503 + Retry-After; Telegram keeps the update) with a field read instead of a Redis round trip
 * on every request. While Redis is unreachable the last value is kept: the webhook's own write
 * fails then anyway, and answers 503 for that reason.
 */
export class BacklogMonitor {
  readonly #opts: Required<Omit<BacklogMonitorOptions, 'onSample'>> & Pick<BacklogMonitorOptions, 'onSample'>;
  #size = 0;
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #failing = false;

  constructor(opts: BacklogMonitorOptions) {
    this.#opts = { intervalMs: 250, ...opts };
  }

  /** Last backlog seen. */
  get size(): number {
    return this.#size;
  }

  /** True when the backlog has reached `maxBacklog`. */
  get full(): boolean {
    return this.#size >= this.#opts.maxBacklog;
  }

  /**
   * Poll now and then every `intervalMs` until {@link stop}. Does not wait for the first answer:
   * while Redis is unreachable at start-up a poll waits for it, and the gateway must listen (and
   * answer 503) meanwhile.
   */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#tick();
    this.#timer = setInterval(() => this.#tick(), this.#opts.intervalMs);
    this.#timer.unref();
  }

  /** Resolves once the poll in progress (if any) is done; for tests and shutdown. */
  async settled(): Promise<void> {
    await this.#polling;
  }

  #tick(): void {
    // Never two polls at once: a slow Redis must not pile up reads.
    if (this.#polling === undefined) this.#polling = this.poll().finally(() => (this.#polling = undefined));
  }

  /** Read the backlog now. Never throws: a failure is logged once until a poll succeeds again. */
  async poll(): Promise<void> {
    try {
      const [state] = await this.#opts.reader.read([this.#opts.queue]);
      this.#size = state?.waiting ?? 0;
      this.#opts.onSample?.(this.#size);
      if (this.#failing) {
        this.#failing = false;
        this.#opts.logger.info({ backlog: this.#size }, 'backlog monitor: Redis answers again');
      }
    } catch (err) {
      if (!this.#failing) {
        this.#failing = true;
        this.#opts.logger.warn(
          { err, queue: this.#opts.queue },
          'backlog monitor: cannot read the queue backlog; keeping the last value until Redis answers',
        );
      }
    }
  }

  /** Stop polling. Does not wait for a poll stuck on an unreachable Redis (closing the connection ends it). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
