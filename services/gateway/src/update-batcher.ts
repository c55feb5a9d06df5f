import { laneIndexKey, type QueueRef, type RedisClient } from '@telegram-receiver/core';
import { UpdateWriter, type PendingUpdate } from './update-writer.ts';

/** Options of {@link UpdateBatcher}. */
export interface UpdateBatcherOptions {
  queue: QueueRef;
  /** The connection `queue` uses (the lane writes go on it too). */
  redis: RedisClient;
  /** QUEUE_PREFIX (BullMQ prefix and lane key prefix). */
  prefix: string;
  /** Flush at once when this many updates wait, without waiting for the end of the tick. @defaultValue 256 */
  maxBatch?: number;
  /** Called with the size of every batch written (the batch-size metric). */
  onBatch?: (size: number) => void;
  /**
   * Replicas that must hold a batch before it counts as durable (Redis `WAIT`), so an update
   * answered 200 survives a Sentinel failover; fewer acknowledgements within `timeoutMs` fail the
   * batch (503, Telegram retries, dedup absorbs the repeat). @defaultValue `{ count: 0 }` (no wait)
   */
  replicas?: { count: number; timeoutMs: number };
}

interface Waiting {
  update: PendingUpdate;
  resolve: (isNew: boolean) => void;
  reject: (err: unknown) => void;
}

/**
 * Makes updates durable in batches: every update that arrives during one turn of the event loop
 * is written by one atomic Lua call ({@link UpdateWriter}: BullMQ jobs + lane entries) instead of
 * Redis round trips per update. On this path the socket writes and per-job script calls cost more
 * than the HTTP exchange itself, so batching is what lets the gateway keep up with a raw HTTP
 * server; the added latency is at most one event-loop turn. Any error fails every waiter of the
 * batch (503, so Telegram retries); what the script wrote before the error is harmless, because
 * every write is idempotent and the retry completes the batch.
 */
export class UpdateBatcher {
  readonly #writer: UpdateWriter;
  readonly #maxBatch: number;
  readonly #onBatch: ((size: number) => void) | undefined;
  readonly #redis: Pick<RedisClient, 'pipeline'>;
  readonly #slotKey: string;
  readonly #replicas: { count: number; timeoutMs: number };
  #waiting: Waiting[] = [];
  #scheduled: NodeJS.Immediate | undefined;

  constructor(opts: UpdateBatcherOptions) {
    this.#writer = new UpdateWriter({ queue: opts.queue, redis: opts.redis, prefix: opts.prefix });
    this.#maxBatch = opts.maxBatch ?? 256;
    this.#onBatch = opts.onBatch;
    this.#redis = opts.redis;
    this.#slotKey = laneIndexKey(opts.prefix, 'updates');
    this.#replicas = opts.replicas ?? { count: 0, timeoutMs: 0 };
  }

  /**
   * Resolves once the update's job and lane entry are in Redis: `true` when it was new, `false`
   * for a re-delivery. Rejects when Redis refused or could not be reached.
   */
  async submit(update: PendingUpdate): Promise<boolean> {
    return await new Promise<boolean>((resolve, reject) => {
      this.#waiting.push({ update, resolve, reject });
      if (this.#waiting.length >= this.#maxBatch) this.#flush();
      else this.#scheduled ??= setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    const batch = this.#waiting;
    this.#waiting = [];
    if (batch.length === 0) return;
    this.#onBatch?.(batch.length);
    this.#durable(batch.map(w => w.update)).then(
      isNew => {
        batch.forEach((waiting, i) => waiting.resolve(isNew[i] === true));
      },
      (err: unknown) => {
        for (const waiting of batch) waiting.reject(err);
      },
    );
  }

  /** Write the batch, then wait for the replicas when asked to (one WAIT per batch, not per update). */
  async #durable(updates: PendingUpdate[]): Promise<boolean[]> {
    const isNew = await this.#writer.write(updates);
    const { count, timeoutMs } = this.#replicas;
    if (count > 0) {
      // WAIT counts what the master holding the batch has replicated. It names no key, so a Cluster
      // client would send it to any node: a keyed command in the same pipeline routes it to the
      // prefix's slot, on the connection that wrote the batch (WAIT is per connection).
      const replies = await this.#redis.pipeline().exists(this.#slotKey).wait(count, timeoutMs).exec();
      const [err, reply] = replies?.[1] ?? [new Error('WAIT: no reply'), 0];
      if (err) throw err;
      const acked = Number(reply);
      if (acked < count) {
        throw new Error(
          `only ${acked} of ${count} Redis replicas acknowledged the write within ${timeoutMs} ms`,
        );
      }
    }
    return isNew;
  }
}
