import type { Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  UPDATE_DEDUP_TTL_MS,
  laneKey,
  updateJobId,
  type Logger,
  type UpdateJobData,
} from '@telegram-receiver/core';
import { LuaScript } from '../redis/lua-script.ts';

/** What the gate needs of a job (any `Job<UpdateJobData, …>` fits). */
export type LaneJob = Pick<Job<UpdateJobData>, 'id' | 'data' | 'timestamp' | 'moveToDelayed'>;

/** What the gate needs of the `updates` queue (any `Queue<UpdateJobData, …>` fits). */
export interface LaneQueue {
  getJobState(jobId: string): Promise<string>;
  /** BullMQ's keys of the queue: the delayed set is read next to the lane (same slot: the prefix's hash tag). */
  keys: Readonly<Record<string, string>>;
  /** BullMQ's backend: `promote` moves a delayed job to wait, and throws when it is not delayed. */
  backend: { promote(jobId: string): Promise<void> };
}

/** Options of {@link LaneGate}. */
export interface LaneGateOptions {
  /** Connection for the lane sorted sets (any connection; commands are short). */
  redis: Redis;
  /** The `updates` queue, to look up the state of a lane's head job and promote the next one. */
  queue: LaneQueue;
  /** QUEUE_PREFIX: lane keys are `laneKey(prefix, bot, lane)`. */
  prefix: string;
  /** First wait of a job behind its lane's head; later waits grow with the job's age. @defaultValue 50 */
  retryDelayMs?: number;
  /** Longest wait between two looks at the lane. @defaultValue 1000 */
  maxRetryDelayMs?: number;
  logger?: Logger;
}

export type LaneDecision = 'proceed' | 'delayed';

// Add ourselves if missing (the gateway's write was lost or the lane expired), keep the lane alive,
// and return the head, in one round trip. KEYS[1] lane; ARGV: member, score, ttl ms.
const ENTER_SCRIPT = new LuaScript(
  `
redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
local head = redis.call('ZRANGE', KEYS[1], 0, 0)
return head[1]
`,
  1,
);

// Remove a dead head only if it still is the head (another replica may have done it, and the
// gateway may have added it back since).
const REMOVE_HEAD_SCRIPT = new LuaScript(
  `
local head = redis.call('ZRANGE', KEYS[1], 0, 0)
if head[1] == ARGV[1] then return redis.call('ZREM', KEYS[1], ARGV[1]) end
return 0
`,
  1,
);

// Leave the lane, name the new head and whether its job waits in the delayed set (only then is a
// promote needed: promoting a job that is not delayed fails, and a failure costs more than a look).
// KEYS: lane, delayed set. ARGV: member, job id prefix of the lane's bot (`updateJobId(bot, n)` = prefix .. n).
const LEAVE_SCRIPT = new LuaScript(
  `
redis.call('ZREM', KEYS[1], ARGV[1])
local head = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
if not head then return false end
local delayed = 0
if redis.call('ZSCORE', KEYS[2], ARGV[2] .. head) then delayed = 1 end
return { head, delayed }
`,
  2,
);

const TTL_ARG = String(UPDATE_DEDUP_TTL_MS);

/** What `updateJobId(bot, n)` puts before `n`, for the leave script to name the head's job. */
export function jobIdPrefix(bot: string): string {
  const sample = updateJobId(bot, 0);
  return sample.slice(0, -1);
}

/** Job states after which a lane's head will never run again (or was never enqueued). */
const DEAD_STATES = new Set(['completed', 'failed', 'unknown']);

/** A dead head is removed and the lane read again at most this often in one `enter`. */
const MAX_STALE_REMOVALS = 100;

/**
 * Per-chat FIFO across any number of worker replicas (design non-negotiable 3).
 *
 * The gateway adds each update's id to its lane's sorted set before it answers 200, and Telegram
 * sends a chat's next update only after that, so the lowest id in a lane is the chat's oldest
 * unfinished update. A job runs only when it is its lane's head; otherwise it goes back to
 * delayed (not counted as an attempt) and is promoted when the head leaves. A job retried after a
 * failure stays the head, so its chat waits until it succeeds or is moved aside to `failed`.
 */
export class LaneGate {
  readonly #redis: Redis;
  readonly #queue: LaneQueue;
  readonly #delayedKey: string;
  readonly #prefix: string;
  readonly #retryDelayMs: number;
  readonly #maxRetryDelayMs: number;
  readonly #logger: Logger | undefined;

  constructor(opts: LaneGateOptions) {
    this.#redis = opts.redis;
    this.#queue = opts.queue;
    const delayed = opts.queue.keys.delayed;
    if (delayed === undefined) {
      throw new TypeError('LaneGate: the queue has no delayed key (bullmq changed?)');
    }
    this.#delayedKey = delayed;
    this.#prefix = opts.prefix;
    this.#retryDelayMs = opts.retryDelayMs ?? 50;
    this.#maxRetryDelayMs = opts.maxRetryDelayMs ?? 1000;
    this.#logger = opts.logger;
  }

  /**
   * Call first in the processor. `'proceed'`: this job is its lane's head (or has no lane) and may
   * run now. `'delayed'`: the job was moved back to delayed, and the processor must
   * `throw new DelayedError()` at once. A Redis error is thrown: the attempt then fails and BullMQ
   * retries the job by its backoff, still in order (it stays in its lane).
   */
  async enter(job: LaneJob, token: string): Promise<LaneDecision> {
    const { lane, bot, update } = job.data;
    if (lane === null || lane === undefined) return 'proceed';
    const key = laneKey(this.#prefix, bot, lane);
    const member = String(update.update_id);
    for (let removals = 0; ; removals++) {
      const head = (await ENTER_SCRIPT.run(this.#redis, [key], [member, member, TTL_ARG])) as string | null;
      if (head === null || head === member) return 'proceed';
      const headId = updateJobId(bot, Number(head));
      const state = await this.#queue.getJobState(headId);
      if (!DEAD_STATES.has(state) || removals >= MAX_STALE_REMOVALS) break;
      const removed = await REMOVE_HEAD_SCRIPT.run(this.#redis, [key], [head]);
      if (removed === 1) {
        this.#logger?.warn({ lane: key, head, state, jobId: job.id }, 'removed a dead head from its lane');
      }
    }
    const delay = this.#delayFor(job);
    await job.moveToDelayed(Date.now() + delay, token);
    // The head may have left between our look and the move; then nobody would promote us.
    const headNow = (await this.#redis.zrange(key, 0, 0))[0];
    if (headNow === undefined || headNow === member) await this.#promote(job.id);
    return 'delayed';
  }

  /**
   * Call when the job is finished for good (completed, or failed with no attempts left): it
   * leaves its lane, and the next update of that lane is promoted if it waits delayed, so the chat
   * goes on at once.
   */
  async leave(job: LaneJob): Promise<void> {
    const { lane, bot, update } = job.data;
    if (lane === null || lane === undefined) return;
    const key = laneKey(this.#prefix, bot, lane);
    const next = (await LEAVE_SCRIPT.run(
      this.#redis,
      [key, this.#delayedKey],
      [String(update.update_id), jobIdPrefix(bot)],
    )) as [string, number] | null;
    if (next !== null && next[1] === 1) await this.#promote(updateJobId(bot, Number(next[0])));
  }

  /**
   * Call {@link leave} from a worker's events: on `completed`, and on `failed` once the job is in
   * the failed set for good (no attempts left). Returns a function that detaches the listeners.
   * Errors are logged: a missed leave only costs the next job one look at a dead head.
   */
  attach<R, N extends string>(worker: Worker<UpdateJobData, R, N>): () => void {
    const onCompleted = (job: Job<UpdateJobData, R, N>) => {
      this.leave(job).catch((err: unknown) =>
        this.#logger?.error({ err, jobId: job.id }, 'lane leave failed'),
      );
    };
    const onFailed = (job: Job<UpdateJobData, R, N> | undefined) => {
      if (!job?.id) return;
      const id = job.id;
      this.#queue
        .getJobState(id)
        .then(async state => {
          if (state === 'failed' || state === 'unknown') await this.leave(job);
        })
        .catch((err: unknown) => this.#logger?.error({ err, jobId: id }, 'lane leave failed'));
    };
    worker.on('completed', onCompleted);
    worker.on('failed', onFailed);
    return () => {
      worker.off('completed', onCompleted);
      worker.off('failed', onFailed);
    };
  }

  /** Grows with the time the job has waited since it was enqueued: short for a fresh job, capped. */
  #delayFor(job: LaneJob): number {
    const age = Math.max(0, Date.now() - (job.timestamp || Date.now()));
    return Math.min(this.#maxRetryDelayMs, Math.max(this.#retryDelayMs, Math.round(age / 8)));
  }

  async #promote(jobId: string | undefined): Promise<void> {
    if (!jobId) return;
    try {
      // One script call: BullMQ's promote checks the delayed set itself (no job fetched first).
      await this.#queue.backend.promote(jobId);
    } catch (err) {
      // Not delayed (waiting, running, done, or promoted by someone else): nothing to do.
      this.#logger?.debug({ err, jobId }, 'lane promote skipped');
    }
  }
}
