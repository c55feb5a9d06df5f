import type { RedisClient } from './redis-connection.ts';
import { laneIndexKey, parkedCountKey, type AnyQueueName } from './job-contracts.ts';

/** What one queue holds right now, as {@link QueueStateReader.read} saw it in one atomic snapshot. */
export interface QueueState {
  queue: AnyQueueName;
  /**
   * Items waiting to run: BullMQ's wait list (where a paused queue keeps its jobs too), the legacy
   * paused list, prioritized, delayed (due or not yet due), waiting-children, and the items parked
   * behind their lane's head.
   */
  waiting: number;
  /** Jobs running now (BullMQ's active list). */
  active: number;
  /** Every item not yet completed or failed: `waiting + active`. */
  backlog: number;
  /**
   * Lanes (chats) with at least one unfinished item: the most work that can run in parallel. Always
   * 0 for a side queue (`notices`: no lanes).
   */
  pendingLanes: number;
  /**
   * Age of the oldest unfinished item, in seconds (0 when the queue holds none), from the lane index:
   * always 0 for a side queue.
   */
  oldestAgeSeconds: number;
  /** True while the queue is paused (its jobs then stay in `wait`, counted above). */
  paused: boolean;
  /** Items that failed for good and wait in BullMQ's failed set for the operator (dead letters). */
  deadLetters: number;
  /** Age of the oldest dead letter, in seconds (0 when none). */
  deadLetterOldestAgeSeconds: number;
}

/** Options of {@link QueueStateReader}. */
export interface QueueStateReaderOptions {
  /**
   * Any connection; the reader sends one MULTI/EXEC of O(1)/O(log n) commands per {@link QueueStateReader.read}.
   * On a Redis Cluster every key it reads carries the prefix's hash tag, so the MULTI stays in one slot.
   */
  redis: Pick<RedisClient, 'multi'>;
  /** QUEUE_PREFIX (BullMQ's prefix). */
  prefix: string;
  /** Clock in epoch ms, for the oldest age. @defaultValue Date.now */
  now?: () => number;
}

// The commands of one queue, in the order their replies are read back. Every one is O(1) except the
// ZRANGEs of one member (O(log n)), so the cost of a read does not grow with the queue.
const COMMANDS_PER_QUEUE = 12;

/**
 * Reads the scaling signal of the job queues (backlog, pending lanes, oldest age, active) in one
 * round trip, whatever their size. BullMQ's `getJobCounts` is one Lua call per state list and knows
 * nothing of lanes; this reads BullMQ's keys directly (layout of bullmq 6: `<prefix>:<queue>:<state>`,
 * checked against `Queue.keys` by its test) together with the lane index and parked count that the
 * lane mechanism maintains (see {@link laneIndexKey}). The gateway's backlog check and the metrics
 * service share it.
 */
export class QueueStateReader {
  readonly #redis: Pick<RedisClient, 'multi'>;
  readonly #prefix: string;
  readonly #now: () => number;

  constructor(opts: QueueStateReaderOptions) {
    this.#redis = opts.redis;
    this.#prefix = opts.prefix;
    this.#now = opts.now ?? Date.now;
  }

  /** Redis commands one {@link read} sends for `queueCount` queues (MULTI and EXEC included). */
  static commandsPerRead(queueCount: number): number {
    return COMMANDS_PER_QUEUE * queueCount + 2;
  }

  /**
   * Read `queues` in one MULTI/EXEC (a consistent snapshot, one round trip). Rejects when Redis
   * cannot be reached or answers an error: the caller decides what a missing value means.
   */
  async read(queues: readonly AnyQueueName[]): Promise<QueueState[]> {
    const multi = this.#redis.multi();
    for (const queue of queues) {
      const key = (type: string) => `${this.#prefix}:${queue}:${type}`;
      multi
        .llen(key('wait'))
        .llen(key('paused'))
        .zcard(key('prioritized'))
        .zcard(key('delayed'))
        .zcard(key('waiting-children'))
        .get(parkedCountKey(this.#prefix, queue))
        .llen(key('active'))
        .zcard(laneIndexKey(this.#prefix, queue))
        .zrange(laneIndexKey(this.#prefix, queue), 0, 0, 'WITHSCORES')
        .hexists(key('meta'), 'paused')
        .zcard(key('failed'))
        .zrange(key('failed'), 0, 0, 'WITHSCORES');
    }
    const replies = await multi.exec();
    if (replies === null) throw new Error('queue state read: the transaction was aborted');
    const now = this.#now();
    return queues.map((queue, q) => {
      const at = (i: number): unknown => {
        const [err, value] = replies[q * COMMANDS_PER_QUEUE + i] ?? [new Error('missing reply'), null];
        if (err) throw err;
        return value;
      };
      const waiting =
        Number(at(0)) + Number(at(1)) + Number(at(2)) + Number(at(3)) + Number(at(4)) + parked(at(5));
      const active = Number(at(6));
      const ageOf = (range: unknown) => {
        const pair = range as string[];
        return pair.length === 2 ? Math.max(0, (now - Number(pair[1])) / 1000) : 0;
      };
      return {
        queue,
        waiting,
        active,
        backlog: waiting + active,
        pendingLanes: Number(at(7)),
        oldestAgeSeconds: ageOf(at(8)),
        paused: Number(at(9)) === 1,
        // The failed set is scored by when each job failed (BullMQ's finishedOn).
        deadLetters: Number(at(10)),
        deadLetterOldestAgeSeconds: ageOf(at(11)),
      };
    });
  }
}

// Absent means 0; a corrupt value must not turn the backlog into NaN.
function parked(value: unknown): number {
  const n = Number(value ?? 0);
  return Number.isFinite(n) && n > 0 ? n : 0;
}
