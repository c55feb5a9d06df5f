import type { RedisClient } from '../redis-connection.ts';
import { laneIndexKey, parkedCountKey, type QueueName } from '../job-contracts.ts';
import type { QueueRef } from '../queue-refs.ts';
import { LANE_LUA } from './lane-lua.ts';
import { laneMember } from './lane-keys.ts';

/** One job to append. */
export interface LaneItem {
  jobId: string;
  /** The job's data, as JSON. */
  data: string | Buffer;
  /** The job's options in BullMQ's stored form ({@link encodeJobOptions}), as JSON. */
  opts: string | Buffer;
  /** Throttle-mode deduplication: the dedup key is kept `ttlMs` (BullMQ's `deduplication` option). */
  dedup?: { id: string; ttlMs: number } | undefined;
  /** The chat lane (`<bot>` and `chatLaneOf`'s lane), or null: a lane of its own, runnable at once. */
  lane: { bot: string; lane: string } | null;
}

/**
 * Appends jobs to their chats' mailboxes with one Lua call per batch, in BullMQ's own job format.
 *
 * For each item the script makes the writes BullMQ's `addStandardJob` makes for a job with a custom
 * id (and, when asked, a throttle-mode deduplication id): job hash, dedup key, `added` event. Then:
 * an item whose lane holds nothing unfinished (or that has no lane) is released at once: wait list,
 * `waiting` event and marker, exactly as `Queue.add` leaves it. An item whose lane is busy is only
 * appended to the lane's list and counted as parked: no worker ever fetches, delays or promotes it,
 * until the worker that finishes the lane's head releases it (`LaneAdvancer`). The lane index and
 * parked count of the queue are kept in the same script. A repeated job id or dedup id changes
 * nothing and answers "not new". Redis runs the script in isolation but does not roll it back on
 * an error: writes before a failure stay, which is safe because each item's writes are skipped as a
 * whole once its job hash exists.
 *
 * Why not `Queue.add`: it has no place for the lane, and on the webhook's hot path one script per
 * batch costs a fraction of a script call per job with msgpack packing.
 */
const APPEND_LUA = `${LANE_LUA}
-- KEYS: 1 wait, 2 meta, 3 id, 4 events, 5 marker, 6 active, 7 lane index, 8 parked count;
--       then per item: 9+2(i-1) job hash, 10+2(i-1) dedup key (the job hash again when none)
-- ARGV: 1 count, 2 timestamp ms, 3 job name, 4 QUEUE_PREFIX, 5 this queue's name, 6 the other queue's name;
--       then per item: job id, data JSON, opts JSON, dedup id ('' = none), dedup ttl ms, lane member ('' = none)
-- Lane keys (<prefix>:lane:<member>:updates|callbacks|seq) are built here from the prefix: same hash tag.
-- Returns per item 1 (new) or 0 (a repeated job id or dedup id).
local n = tonumber(ARGV[1])
local timestamp = ARGV[2]
local name = ARGV[3]
local prefix, queue, other = ARGV[4], ARGV[5], ARGV[6]
local q = { wait = KEYS[1], meta = KEYS[2], events = KEYS[4], marker = KEYS[5], active = KEYS[6] }
local maxEvents = maxEventsOf(KEYS[2])
rcall('INCRBY', KEYS[3], n)
local released = 0
local isNew = {}
for i = 1, n do
  local jobKey, dedupKey = KEYS[7 + 2 * i], KEYS[8 + 2 * i]
  local a = 6 + (i - 1) * 6
  local jobId, dedupId, member = ARGV[a + 1], ARGV[a + 4], ARGV[a + 6]
  isNew[i] = 0
  if rcall('EXISTS', jobKey) == 1 then
    rcall('XADD', KEYS[4], 'MAXLEN', '~', maxEvents, '*', 'event', 'duplicated', 'jobId', jobId)
  elseif dedupId ~= '' and rcall('EXISTS', dedupKey) == 1 then
    rcall('XADD', KEYS[4], 'MAXLEN', '~', maxEvents, '*', 'event', 'deduplicated', 'jobId',
      rcall('GET', dedupKey), 'deduplicationId', dedupId, 'deduplicatedJobId', jobId)
  else
    -- The lane first: it is the write that can fail (a key of the wrong type), and a failure must
    -- leave no job hash or dedup key behind, or the retry would take the item for a duplicate.
    local busy = false
    if member ~= '' then
      local mine, theirs = laneList(prefix, member, queue), laneList(prefix, member, other)
      local hadMine = rcall('EXISTS', mine) == 1
      busy = hadMine or rcall('EXISTS', theirs) == 1
      local seq = rcall('INCR', laneSeq(prefix, member))
      rcall('RPUSH', mine, seq .. '|' .. timestamp .. '|' .. jobId)
      if not hadMine then rcall('ZADD', KEYS[7], timestamp, member) end
    else
      rcall('ZADD', KEYS[7], timestamp, '#job:' .. jobId)
    end
    if dedupId ~= '' then
      rcall('SET', dedupKey, jobId, 'PX', ARGV[a + 5])
      rcall('HMSET', jobKey, 'name', name, 'data', ARGV[a + 2], 'opts', ARGV[a + 3],
        'timestamp', timestamp, 'delay', 0, 'priority', 0, 'deid', dedupId)
    else
      rcall('HMSET', jobKey, 'name', name, 'data', ARGV[a + 2], 'opts', ARGV[a + 3],
        'timestamp', timestamp, 'delay', 0, 'priority', 0)
    end
    rcall('XADD', KEYS[4], '*', 'event', 'added', 'jobId', jobId, 'name', name)
    isNew[i] = 1
    if busy then
      rcall('INCR', KEYS[8])
    else
      release(q, jobId, maxEvents, false)
      released = released + 1
    end
  end
end
if released > 0 and not pausedOrMaxed(KEYS[2], KEYS[6]) then rcall('ZADD', KEYS[5], 0, '0') end
return isNew`;

type AppendCommand = (numKeys: number, ...args: (string | number | Buffer)[]) => Promise<number[]>;

/** The queue keys the append script needs (any BullMQ `Queue` or {@link QueueRef} fits). */
export type LaneQueue = Pick<QueueRef, 'keys' | 'name'>;

const OTHER_QUEUE: Record<QueueName, QueueName> = { updates: 'callbacks', callbacks: 'updates' };

/** Appends jobs of one queue to their lanes (see the script's comment for the writes it makes). */
export class LaneWriter {
  readonly #queue: QueueName;
  readonly #prefix: string;
  readonly #command: AppendCommand;
  readonly #fixedKeys: string[];
  readonly #jobKeyBase: string;
  readonly #dedupBase: string;

  constructor(opts: { queue: LaneQueue; redis: RedisClient; prefix: string }) {
    const name = opts.queue.name;
    if (name !== 'updates' && name !== 'callbacks') throw new TypeError(`no lanes for queue ${name}`);
    this.#queue = name;
    this.#prefix = opts.prefix;
    const client = opts.redis as RedisClient & { trLaneAppend?: AppendCommand };
    if (client.trLaneAppend === undefined) opts.redis.defineCommand('trLaneAppend', { lua: APPEND_LUA });
    const command = (opts.redis as RedisClient & { trLaneAppend: AppendCommand }).trLaneAppend;
    this.#command = (numKeys, ...args) => command.call(opts.redis, numKeys, ...args);
    const keys = opts.queue.keys;
    const fixed = [keys.wait, keys.meta, keys.id, keys.events, keys.marker, keys.active];
    this.#fixedKeys = fixed.map(k => {
      if (k === undefined) throw new Error('bullmq queue keys changed: re-check the lane writer');
      return k;
    });
    this.#fixedKeys.push(laneIndexKey(opts.prefix, name), parkedCountKey(opts.prefix, name));
    this.#jobKeyBase = keys[''] ?? `${opts.prefix}:${name}:`;
    this.#dedupBase = `${keys.de}:`;
  }

  /** Append the items (accepted at `timestamp`, epoch ms); resolves with, per item, whether it was new (false = a repeated id). */
  async append(jobName: string, items: readonly LaneItem[], timestamp = Date.now()): Promise<boolean[]> {
    const itemKeys: string[] = [];
    const args: (string | number | Buffer)[] = [
      items.length,
      timestamp,
      jobName,
      this.#prefix,
      this.#queue,
      OTHER_QUEUE[this.#queue],
    ];
    for (const item of items) {
      const jobKey = `${this.#jobKeyBase}${item.jobId}`;
      itemKeys.push(jobKey, item.dedup === undefined ? jobKey : `${this.#dedupBase}${item.dedup.id}`);
      args.push(
        item.jobId,
        item.data,
        item.opts,
        item.dedup?.id ?? '',
        item.dedup?.ttlMs ?? 0,
        item.lane === null ? '' : laneMember(item.lane.bot, item.lane.lane),
      );
    }
    const isNew = await this.#command(
      this.#fixedKeys.length + itemKeys.length,
      ...this.#fixedKeys,
      ...itemKeys,
      ...args,
    );
    return isNew.map(flag => flag === 1);
  }
}
