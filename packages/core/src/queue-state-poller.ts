import type { AnyQueueName } from './job-contracts.ts';
import type { Logger } from './logger.ts';
import type { QueueState, QueueStateReader } from './queue-state-reader.ts';

/** Options of {@link QueueStatePoller}. */
export interface QueueStatePollerOptions {
  /** The shared queue reader (core). */
  reader: Pick<QueueStateReader, 'read'>;
  /** Queues read on every poll, in one round trip. */
  queues: readonly AnyQueueName[];
  /** Time between two reads. @defaultValue 1000 */
  intervalMs?: number;
  /**
   * Age past which the last sample is no longer served at all (the scalers then see "no value" and
   * keep the current replica count, instead of scaling on a number nobody can vouch for).
   * `Infinity` keeps the last sample forever (the gateway's back-pressure check).
   * @defaultValue 10000
   */
  maxAgeMs?: number;
  /** Told every successful read. */
  onSample?: (states: readonly QueueState[]) => void;
  logger: Logger;
  /** Clock in epoch ms. @defaultValue Date.now */
  now?: () => number;
}

/** The last successful read, with how old it is. */
export interface QueueSample {
  /** Epoch ms of the read. */
  sampledAt: number;
  /** Seconds since the read. */
  ageSeconds: number;
  /** True when the latest poll succeeded: the value is as fresh as the interval allows. */
  fresh: boolean;
  states: readonly QueueState[];
}

/**
 * Reads the queues with a {@link QueueStateReader} every `intervalMs` in the background, so every
 * consumer answers from memory at no Redis cost (the metrics service's scrapes, /queues and External
 * Metrics API; the gateway's webhook back-pressure), and Redis sees one round trip per interval
 * however many consumers there are. Never two reads at once. While Redis is unreachable the last
 * sample is kept, marked not fresh, with its age, and dropped past `maxAgeMs`.
 */
export class QueueStatePoller {
  readonly #opts: Required<Omit<QueueStatePollerOptions, 'logger' | 'onSample'>> &
    Pick<QueueStatePollerOptions, 'logger' | 'onSample'>;
  #last: { at: number; states: readonly QueueState[] } | undefined;
  #failing = false;
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;

  constructor(opts: QueueStatePollerOptions) {
    this.#opts = { intervalMs: 1000, maxAgeMs: 10_000, now: Date.now, ...opts };
  }

  /**
   * `reading` when the latest read succeeded (readiness: Redis answers), `failing` when it failed,
   * `starting` before the first read.
   */
  get status(): 'starting' | 'reading' | 'failing' {
    if (this.#failing) return 'failing';
    return this.#last === undefined ? 'starting' : 'reading';
  }

  /** Seconds since the last successful read, however old; `undefined` before the first one. */
  lastReadAgeSeconds(): number | undefined {
    return this.#last === undefined ? undefined : Math.max(0, this.#opts.now() - this.#last.at) / 1000;
  }

  /** The last sample, or `undefined` when there is none or it is older than `maxAgeMs`. */
  sample(): QueueSample | undefined {
    const last = this.#last;
    if (last === undefined) return undefined;
    const ageMs = Math.max(0, this.#opts.now() - last.at);
    if (ageMs > this.#opts.maxAgeMs) return undefined;
    return { sampledAt: last.at, ageSeconds: ageMs / 1000, fresh: !this.#failing, states: last.states };
  }

  /** Read now, then every `intervalMs` until {@link stop}. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#tick();
    this.#timer = setInterval(() => this.#tick(), this.#opts.intervalMs);
    this.#timer.unref();
  }

  /** Stop polling. Does not wait for a read stuck on an unreachable Redis (closing the connection ends it). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Resolves once the read in progress (if any) is done; for tests and shutdown. */
  async settled(): Promise<void> {
    await this.#polling;
  }

  #tick(): void {
    // Never two reads at once: a slow Redis must not pile them up.
    this.#polling ??= this.poll().finally(() => (this.#polling = undefined));
  }

  /** Read once. Never throws: a failure is logged once until a read succeeds again. */
  async poll(): Promise<void> {
    try {
      const states = await this.#opts.reader.read(this.#opts.queues);
      this.#last = { at: this.#opts.now(), states };
      this.#opts.onSample?.(states);
      if (this.#failing) {
        this.#opts.logger.info({ queues: this.#opts.queues }, 'queue state: Redis answers again');
      }
      this.#failing = false;
    } catch (err) {
      if (!this.#failing) {
        this.#opts.logger.warn(
          { err, queues: this.#opts.queues },
          'queue state: cannot read the queues; keeping the last sample, marked not fresh, until Redis answers',
        );
      }
      this.#failing = true;
    }
  }
}
