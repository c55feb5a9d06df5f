import type { Job, Worker } from 'bullmq';
import {
  LANE_LUA,
  QUEUE_NAMES,
  laneIndexKey,
  laneMember,
  parkedCountKey,
  type Logger,
  type QueueName,
  type RedisClient,
} from '@telegram-receiver/core';
import { LuaScript } from '../redis/lua-script.ts';

/**
 * The field of a job's hash (BullMQ ignores fields it does not know) where the lane scripts write
 * when a parked item was released: its lane wait is that time minus the job's `timestamp`.
 */
export const RELEASED_AT_FIELD = 'tr:released';

/** What the advancer needs of a queue (any BullMQ `Queue` fits): its keys. */
export interface AdvancerQueue {
  keys: Readonly<Record<string, string>>;
}

/** What the advancer needs of a job: its id and the lane its data names. */
export interface LaneJobRef {
  id?: string | undefined;
  data: { bot?: string | undefined; lane?: string | null | undefined };
}

/** Options of {@link LaneAdvancer}. */
export interface LaneAdvancerOptions {
  /** Connection for the scripts (commands are short); a Cluster client works too (one hash tag). */
  redis: RedisClient;
  queues: Record<QueueName, AdvancerQueue>;
  /** QUEUE_PREFIX (BullMQ prefix and lane key prefix; carries the hash tag in a Redis Cluster). */
  prefix: string;
  /** Time between two sweeps of the lane index (the self-healing path). @defaultValue 2000 */
  sweepIntervalMs?: number;
  /** Lanes looked at per queue per sweep. @defaultValue 200 */
  sweepBatch?: number;
  logger?: Logger;
}

// The settle step shared by both scripts. A lane whose head item of queue qi has finished for good
// (completed, failed, or its job gone) loses that item; then the lane's new head (lowest seq of both
// lists) is released into its queue's wait list if it was parked behind the one that left, and its
// job hash gets the release time (RELEASED_AT_FIELD, epoch ms): its lane wait, for its trace.
const SETTLE_LUA = `${LANE_LUA}
local QUEUES = { 'updates', 'callbacks' }
local prefix = ARGV[1]
local now = ARGV[5]
local function qkeys(qi)
  local q = prefix .. ':' .. QUEUES[qi] .. ':'
  return { wait = q .. 'wait', meta = q .. 'meta', events = q .. 'events', marker = q .. 'marker',
    active = q .. 'active', completed = q .. 'completed', failed = q .. 'failed', index = q .. 'lanes',
    parked = q .. 'parked' }
end
local function finished(q, qi, jobId)
  if rcall('EXISTS', prefix .. ':' .. QUEUES[qi] .. ':' .. jobId) == 0 then return true end
  return rcall('ZSCORE', q.completed, jobId) ~= false or rcall('ZSCORE', q.failed, jobId) ~= false
end
local function settleLane(qi, member, jobId)
  local q = qkeys(qi)
  local mine = laneList(prefix, member, QUEUES[qi])
  local head = rcall('LINDEX', mine, 0)
  if not head then
    if not jobId then rcall('ZREM', q.index, member) end
    return 0
  end
  local seq, _, headId = parseEntry(head)
  if (jobId and headId ~= jobId) or not finished(q, qi, headId) then return 0 end
  rcall('LPOP', mine)
  local nextOfQueue = rcall('LINDEX', mine, 0)
  if nextOfQueue then
    local _, acceptedAt = parseEntry(nextOfQueue)
    rcall('ZADD', q.index, acceptedAt, member)
  else
    rcall('ZREM', q.index, member)
  end
  local hu = rcall('LINDEX', laneList(prefix, member, 'updates'), 0)
  local hc = rcall('LINDEX', laneList(prefix, member, 'callbacks'), 0)
  if not hu and not hc then
    rcall('DEL', laneSeq(prefix, member))
    return 1
  end
  local nq, entry = 2, hc
  if hu and (not hc or parseEntry(hu) < parseEntry(hc)) then nq, entry = 1, hu end
  local nseq, _, nid = parseEntry(entry)
  -- Only an item behind the one that left is parked (the head of a lane is always released).
  if nseq > seq then
    local n = qkeys(nq)
    decrParked(n.parked)
    release(n, nid, maxEventsOf(n.meta), true)
    local jobKey = prefix .. ':' .. QUEUES[nq] .. ':' .. nid
    if rcall('EXISTS', jobKey) == 1 then rcall('HSET', jobKey, '${RELEASED_AT_FIELD}', now) end
  end
  return 1
end
local function settleSolo(qi, jobId)
  local q = qkeys(qi)
  if finished(q, qi, jobId) then return rcall('ZREM', q.index, '#job:' .. jobId) end
  return 0
end
`;

const KEYS_DOC = `
-- KEYS: 1 the updates lane index (routes the call to the prefix's slot on a Redis Cluster). Every key
--       the script touches is built from ARGV[1], the prefix, which carries the hash tag, as BullMQ's
--       scripts build job keys: <prefix>:<queue>:wait|meta|events|marker|active|completed|failed (BullMQ's),
--       <prefix>:<queue>:lanes (lane index), <prefix>:<queue>:parked, <prefix>:lane:<member>:...
--       (Passing them all as KEYS cost 18 long names per call on the wire.)`;

// Advance the lane of one job that may have finished (called on its worker's completed/failed event).
const ADVANCE_SCRIPT = new LuaScript(
  `${SETTLE_LUA}${KEYS_DOC}
-- ARGV: 1 prefix, 2 queue (1 updates, 2 callbacks), 3 job id, 4 lane member ('' = a lane of its own),
--       5 now (epoch ms)
-- Returns 1 when the job left its lane, 0 when it is not finished (a retry waits) or already left.
local qi = tonumber(ARGV[2])
if ARGV[4] == '' then return settleSolo(qi, ARGV[3]) end
return settleLane(qi, ARGV[4], ARGV[3])`,
  1,
);

// Self-healing: settle up to ARGV[4] lanes of the index from rank ARGV[3] whose head has finished but
// whose advance was missed (a worker killed between completing a job and advancing its lane, a job
// failed by BullMQ's stalled check). Returns { lanes settled, lanes looked at }.
const SWEEP_SCRIPT = new LuaScript(
  `${SETTLE_LUA}${KEYS_DOC}
-- ARGV: 1 prefix, 2 queue (1 updates, 2 callbacks), 3 first rank, 4 count, 5 now (epoch ms)
local qi = tonumber(ARGV[2])
local start = tonumber(ARGV[3])
local members = rcall('ZRANGE', qkeys(qi).index, start, start + tonumber(ARGV[4]) - 1)
local settled = 0
for _, member in ipairs(members) do
  if string.sub(member, 1, 5) == '#job:' then
    settled = settled + settleSolo(qi, string.sub(member, 6))
  else
    settled = settled + settleLane(qi, member, false)
  end
end
return { settled, #members }`,
  1,
);

const QUEUE_INDEX: Record<QueueName, number> = { updates: 1, callbacks: 2 };

/**
 * Per-chat order across any number of worker replicas, for both queues (the worker's half of the
 * lane mechanism; the gateway's half is `LaneWriter`).
 *
 * The gateway appends every item to its chat's mailbox and releases only the lane's head into
 * BullMQ; the others stay parked, fetched by nobody. When BullMQ has finished the head for good
 * (completed, or failed with no attempts left), {@link advance} removes it from the lane and
 * releases the next item, in one script, so the chat goes on at once. A retried head stays the
 * head (its chat waits for it); a poison head is moved to BullMQ's `failed` set and its chat goes on.
 * {@link attach} calls `advance` from the workers' events; {@link sweep} repairs a lane whose
 * advance was missed (worker killed right after completing, stalled job failed by BullMQ).
 */
export class LaneAdvancer {
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly #keys: string[];
  readonly #sweepIntervalMs: number;
  readonly #sweepBatch: number;
  readonly #logger: Logger | undefined;
  readonly #cursor: Record<QueueName, number> = { updates: 0, callbacks: 0 };
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<number> | undefined;

  constructor(opts: LaneAdvancerOptions) {
    this.#redis = opts.redis;
    this.#prefix = opts.prefix;
    // The scripts build BullMQ's key names from the prefix: check they are what BullMQ uses.
    for (const name of [QUEUE_NAMES.updates, QUEUE_NAMES.callbacks]) {
      const k = opts.queues[name].keys;
      for (const key of ['wait', 'meta', 'events', 'marker', 'active', 'completed', 'failed'] as const) {
        if (k[key] !== `${opts.prefix}:${name}:${key}`) {
          throw new TypeError(`LaneAdvancer: bullmq's ${key} key of ${name} is ${k[key]} (bullmq changed?)`);
        }
      }
      if (
        laneIndexKey(opts.prefix, name) !== `${opts.prefix}:${name}:lanes` ||
        parkedCountKey(opts.prefix, name) !== `${opts.prefix}:${name}:parked`
      ) {
        throw new TypeError('LaneAdvancer: the lane-index contract keys changed; update the scripts');
      }
    }
    this.#keys = [laneIndexKey(opts.prefix, QUEUE_NAMES.updates)];
    this.#sweepIntervalMs = opts.sweepIntervalMs ?? 2000;
    this.#sweepBatch = opts.sweepBatch ?? 200;
    this.#logger = opts.logger;
  }

  /**
   * Leave the lane if the job has finished for good and release the lane's next item. Idempotent:
   * a job that is not finished (its retry waits in `delayed`) or that already left changes nothing.
   * Resolves with whether the job left its lane now.
   */
  async advance(queue: QueueName, job: LaneJobRef): Promise<boolean> {
    if (job.id === undefined) return false;
    const { bot, lane } = job.data;
    const member = typeof bot === 'string' && typeof lane === 'string' ? laneMember(bot, lane) : '';
    const left = await ADVANCE_SCRIPT.run(this.#redis, this.#keys, [
      this.#prefix,
      QUEUE_INDEX[queue],
      job.id,
      member,
      Date.now(),
    ]);
    return left === 1;
  }

  /**
   * Look at the next `sweepBatch` lanes of each queue's index (round robin over the index) and
   * settle those whose head has finished. Resolves with the number of lanes settled.
   */
  async sweep(): Promise<number> {
    let settled = 0;
    for (const queue of [QUEUE_NAMES.updates, QUEUE_NAMES.callbacks]) {
      const [n, seen] = (await SWEEP_SCRIPT.run(this.#redis, this.#keys, [
        this.#prefix,
        QUEUE_INDEX[queue],
        this.#cursor[queue],
        this.#sweepBatch,
        Date.now(),
      ])) as [number, number];
      this.#cursor[queue] = seen < this.#sweepBatch ? 0 : this.#cursor[queue] + seen;
      settled += n;
    }
    if (settled > 0) this.#logger?.warn({ settled }, 'lane sweep released lanes whose advance was missed');
    return settled;
  }

  /** Sweep every `sweepIntervalMs` until {@link stop} (errors are logged; the next sweep tries again). */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      this.#sweeping ??= this.sweep()
        .catch((err: unknown) => {
          this.#logger?.debug({ err }, 'lane sweep failed');
          return 0;
        })
        .finally(() => (this.#sweeping = undefined));
    }, this.#sweepIntervalMs);
    this.#timer.unref();
  }

  /** Stop sweeping; resolves once a sweep in progress is done. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#sweeping;
  }

  /**
   * Call {@link advance} from a worker's `completed` and `failed` events (the script itself tells a
   * final failure from one that will be retried). Returns a function that detaches the listeners.
   * Errors are logged: a missed advance is repaired by the next {@link sweep}.
   */
  attach<D extends LaneJobRef['data'], R, N extends string>(
    queue: QueueName,
    worker: Worker<D, R, N>,
  ): () => void {
    const onDone = (job: Job<D, R, N> | undefined) => {
      if (!job?.id) return;
      const id = job.id;
      this.advance(queue, job).catch((err: unknown) =>
        this.#logger?.warn({ err, jobId: id, queue }, 'lane advance failed; the sweep will repair it'),
      );
    };
    worker.on('completed', onDone);
    worker.on('failed', onDone);
    return () => {
      worker.off('completed', onDone);
      worker.off('failed', onDone);
    };
  }
}
