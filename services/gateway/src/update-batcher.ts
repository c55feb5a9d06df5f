import {
  JOB_NAMES,
  UPDATE_DEDUP_TTL_MS,
  laneKey,
  updateJobId,
  type TelegramUpdate,
  type UpdatesQueue,
} from '@telegram-receiver/core';
import type { Redis } from 'ioredis';

/** One update waiting to be written. */
export interface PendingUpdate {
  bot: string;
  updateId: number;
  update: TelegramUpdate;
  lane: string | null;
}

/** Options of {@link UpdateBatcher}. */
export interface UpdateBatcherOptions {
  queue: UpdatesQueue;
  /** The connection `queue` uses (the lane writes go on it too). */
  redis: Redis;
  /** QUEUE_PREFIX (BullMQ prefix and lane key prefix). */
  prefix: string;
  /** Flush at once when this many updates wait, without waiting for the end of the tick. @defaultValue 256 */
  maxBatch?: number;
}

// ZADD + PEXPIRE for every lane of a batch in one atomic call; replies 1 (new member) or 0 (already
// there) per key. All keys share the queue's slot when QUEUE_PREFIX carries a hash tag (Cluster).
const LANES_ADD_LUA = `
local replies = {}
for i = 1, #KEYS do
  replies[i] = redis.call('ZADD', KEYS[i], ARGV[i + 1], ARGV[i + 1])
  redis.call('PEXPIRE', KEYS[i], ARGV[1])
end
return replies`;

type LanesAdd = (numKeys: number, ...args: (string | number)[]) => Promise<number[]>;

interface Waiter {
  resolve: (isNew: boolean) => void;
  reject: (err: unknown) => void;
}

/**
 * Makes updates durable in batches: every update that arrives during one turn of the event loop
 * is written with one BullMQ `addBulk` (one pipeline) and one lane script, instead of two Redis
 * round trips per update. On this path the socket writes cost more than everything else, so
 * batching is what lets the gateway keep up with a raw HTTP server; the added latency is at most one
 * event-loop turn. Any failure in a batch fails every waiter of it (503): some of its writes may
 * have landed, which is harmless because every write is idempotent and Telegram's retry completes
 * them.
 */
export class UpdateBatcher {
  readonly #queue: UpdatesQueue;
  readonly #prefix: string;
  readonly #maxBatch: number;
  readonly #lanesAdd: LanesAdd;
  #pending: PendingUpdate[] = [];
  #waiters: Waiter[] = [];
  #scheduled: NodeJS.Immediate | undefined;

  constructor(opts: UpdateBatcherOptions) {
    this.#queue = opts.queue;
    this.#prefix = opts.prefix;
    this.#maxBatch = opts.maxBatch ?? 256;
    const client = opts.redis as Redis & { trLanesAdd?: LanesAdd };
    if (client.trLanesAdd === undefined) opts.redis.defineCommand('trLanesAdd', { lua: LANES_ADD_LUA });
    const command = (opts.redis as Redis & { trLanesAdd: LanesAdd }).trLanesAdd;
    this.#lanesAdd = (numKeys, ...args) => command.call(opts.redis, numKeys, ...args);
  }

  /**
   * Resolves once the update's job and lane entry are in Redis: `true` when it was new, `false`
   * for a re-delivery. Rejects when Redis refused or could not be reached.
   */
  async submit(update: PendingUpdate): Promise<boolean> {
    return await new Promise<boolean>((resolve, reject) => {
      this.#pending.push(update);
      this.#waiters.push({ resolve, reject });
      if (this.#pending.length >= this.#maxBatch) this.#flush();
      else this.#scheduled ??= setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    if (this.#scheduled !== undefined) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    const batch = this.#pending;
    const waiters = this.#waiters;
    this.#pending = [];
    this.#waiters = [];
    if (batch.length === 0) return;
    this.#write(batch).then(
      isNew => {
        waiters.forEach((waiter, i) => waiter.resolve(isNew[i] === true));
      },
      (err: unknown) => {
        for (const waiter of waiters) waiter.reject(err);
      },
    );
  }

  async #write(batch: PendingUpdate[]): Promise<boolean[]> {
    const receivedAt = Date.now();
    const jobs = batch.map(u => {
      const jobId = updateJobId(u.bot, u.updateId);
      return {
        name: JOB_NAMES.telegramUpdate,
        data: { bot: u.bot, update: u.update, lane: u.lane, receivedAt },
        opts: { jobId, deduplication: { id: jobId, ttl: UPDATE_DEDUP_TTL_MS } },
      };
    });
    const keys: string[] = [];
    const ids: string[] = [];
    for (const u of batch) {
      if (u.lane === null) continue;
      keys.push(laneKey(this.#prefix, u.bot, u.lane));
      ids.push(String(u.updateId));
    }
    // Both writes are idempotent (job id + dedup key; sorted-set member), so after a partial
    // failure Telegram's retry completes the pair without a second job.
    const [, laneReplies] = await Promise.all([
      this.#queue.addBulk(jobs),
      keys.length === 0 ? [] : this.#lanesAdd(keys.length, ...keys, UPDATE_DEDUP_TTL_MS, ...ids),
    ]);
    // BullMQ answers a deduplicated add with the existing id, so "already stored" is read from the
    // lane write (0 = the member was there). Updates without a lane count as new.
    let next = 0;
    return batch.map(u => (u.lane === null ? true : laneReplies[next++] === 1));
  }
}
