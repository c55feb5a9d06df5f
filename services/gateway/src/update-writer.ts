import { optsEncodeMap, type JobsOptions } from 'bullmq';
import {
  DEFAULT_JOB_OPTIONS,
  JOB_NAMES,
  UPDATE_DEDUP_TTL_MS,
  laneKey,
  updateJobId,
  type TelegramUpdate,
  type UpdatesQueue,
} from '@telegram-receiver/core';
import type { Redis } from 'ioredis';

/** One update to write: the job's data and, when it belongs to a chat, its lane. */
export interface PendingUpdate {
  bot: string;
  updateId: number;
  update: TelegramUpdate;
  lane: string | null;
  /** The trace context to store in the job (BullMQ's `tm` option), when the request is traced. */
  trace?: string | undefined;
}

/**
 * Writes a batch of updates as BullMQ jobs with one Lua call: for each update, exactly the Redis
 * writes BullMQ's own `addStandardJob` script makes for a job with a custom id and a throttle-mode
 * deduplication id (job hash, dedup key, `added`/`waiting` events, wait list, marker), plus the
 * update's per-chat lane entry, in one round trip. (Redis runs the script in isolation but does not
 * roll it back on an error: writes before a failure stay, which is safe because all are idempotent.)
 *
 * Why not `queue.addBulk`: on the webhook's hot path BullMQ spends ~60 µs of client CPU and ~60 µs
 * of Redis time per job (a script call each, with msgpack packing), more than the whole HTTP
 * exchange; one script per batch costs a fraction of that. The stored jobs are BullMQ's own format,
 * pinned by a conformance test that compares this writer's keys with `Queue.add`'s field by field,
 * so BullMQ workers, QueueEvents and the dashboards see no difference. Keep bullmq's version pinned
 * and re-run that test when upgrading it.
 */
const WRITE_UPDATES_LUA = `
-- KEYS: 1 wait, 2 meta, 3 id, 4 events, 5 marker, 6 active; then per job: job hash, dedup key, lane key
-- ARGV: 1 count, 2 timestamp, 3 job name, 4 dedup ttl ms, 5 lane ttl ms;
--       then per job: job id, data JSON, opts JSON, dedup id, lane score ('' = no lane)
local rcall = redis.call
local n = tonumber(ARGV[1])
local timestamp = ARGV[2]
local name = ARGV[3]
local maxEvents = rcall('HGET', KEYS[2], 'opts.maxLenEvents')
if not maxEvents then
  maxEvents = 10000
  rcall('HSET', KEYS[2], 'opts.maxLenEvents', maxEvents)
end
rcall('INCRBY', KEYS[3], n)
local added = 0
local isNew = {}
for i = 1, n do
  local k = 6 + (i - 1) * 3
  local a = 5 + (i - 1) * 5
  local jobKey, dedupKey, lane = KEYS[k + 1], KEYS[k + 2], KEYS[k + 3]
  local jobId, dedupId, laneScore = ARGV[a + 1], ARGV[a + 4], ARGV[a + 5]
  isNew[i] = 0
  if rcall('EXISTS', jobKey) == 1 then
    rcall('XADD', KEYS[4], 'MAXLEN', '~', maxEvents, '*', 'event', 'duplicated', 'jobId', jobId)
  elseif not rcall('SET', dedupKey, jobId, 'PX', ARGV[4], 'NX') then
    rcall('XADD', KEYS[4], 'MAXLEN', '~', maxEvents, '*', 'event', 'deduplicated', 'jobId',
      rcall('GET', dedupKey), 'deduplicationId', dedupId, 'deduplicatedJobId', jobId)
  else
    rcall('HMSET', jobKey, 'name', name, 'data', ARGV[a + 2], 'opts', ARGV[a + 3],
      'timestamp', timestamp, 'delay', 0, 'priority', 0, 'deid', dedupId)
    rcall('XADD', KEYS[4], '*', 'event', 'added', 'jobId', jobId, 'name', name)
    rcall('LPUSH', KEYS[1], jobId)
    rcall('XADD', KEYS[4], 'MAXLEN', '~', maxEvents, '*', 'event', 'waiting', 'jobId', jobId)
    added = added + 1
    isNew[i] = 1
  end
  if laneScore ~= '' then
    rcall('ZADD', lane, laneScore, laneScore)
    rcall('PEXPIRE', lane, ARGV[5])
  end
end
if added > 0 then
  -- BullMQ's isQueuePausedOrMaxed + addBaseMarkerIfNeeded: wake the workers unless paused or full.
  local attributes = rcall('HMGET', KEYS[2], 'paused', 'concurrency')
  local pausedOrMaxed = attributes[1] ~= false
  if not pausedOrMaxed and attributes[2] then
    pausedOrMaxed = rcall('LLEN', KEYS[6]) >= tonumber(attributes[2])
  end
  if not pausedOrMaxed then rcall('ZADD', KEYS[5], 0, '0') end
end
return isNew`;

type WriteUpdates = (numKeys: number, ...args: (string | number | Buffer)[]) => Promise<number[]>;

/** BullMQ's stored form of job options (short keys for a few fields), as its Redis backend writes them. */
export function encodeJobOptions(opts: JobsOptions): Record<string, unknown> {
  const encoded: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(opts)) {
    if (value === undefined) continue;
    encoded[(optsEncodeMap as Record<string, string>)[name] ?? name] = value;
  }
  return encoded;
}

/** Writes batches of updates to the `updates` queue (see the file comment for why). */
export class UpdateWriter {
  readonly #queue: UpdatesQueue;
  readonly #prefix: string;
  readonly #command: WriteUpdates;
  readonly #fixedKeys: string[];
  readonly #baseOptions: Record<string, unknown>;

  constructor(opts: { queue: UpdatesQueue; redis: Redis; prefix: string }) {
    this.#queue = opts.queue;
    this.#prefix = opts.prefix;
    const client = opts.redis as Redis & { trWriteUpdates?: WriteUpdates };
    if (client.trWriteUpdates === undefined) {
      opts.redis.defineCommand('trWriteUpdates', { lua: WRITE_UPDATES_LUA });
    }
    const command = (opts.redis as Redis & { trWriteUpdates: WriteUpdates }).trWriteUpdates;
    this.#command = (numKeys, ...args) => command.call(opts.redis, numKeys, ...args);
    const keys = opts.queue.keys;
    this.#fixedKeys = [keys.wait, keys.meta, keys.id, keys.events, keys.marker, keys.active].map(k => {
      if (k === undefined) throw new Error('bullmq queue keys changed: re-check the update writer');
      return k;
    });
    // The queue's default job options, as Queue.add would merge them under each job's own.
    this.#baseOptions = encodeJobOptions({ ...DEFAULT_JOB_OPTIONS, ...this.#queue.defaultJobOptions });
  }

  /** Write the batch; resolves with, per update, whether it was new (false = a re-delivery). */
  async write(batch: readonly PendingUpdate[]): Promise<boolean[]> {
    const keys = this.#queue.keys;
    const base = keys[''];
    const timestamp = Date.now();
    const jobKeys: string[] = [];
    const args: (string | number | Buffer)[] = [
      batch.length,
      timestamp,
      JOB_NAMES.telegramUpdate,
      UPDATE_DEDUP_TTL_MS,
      UPDATE_DEDUP_TTL_MS,
    ];
    for (const u of batch) {
      const jobId = updateJobId(u.bot, u.updateId);
      const lane = u.lane === null ? undefined : laneKey(this.#prefix, u.bot, u.lane);
      // Without a lane, the job key stands in as the (unused) third key so the key layout stays fixed.
      jobKeys.push(`${base}${jobId}`, `${keys.de}:${jobId}`, lane ?? `${base}${jobId}`);
      const data = JSON.stringify({ bot: u.bot, update: u.update, lane: u.lane, receivedAt: timestamp });
      const options = JSON.stringify({
        ...this.#baseOptions,
        jobId,
        de: { id: jobId, ttl: UPDATE_DEDUP_TTL_MS },
        // Where Queue.add with bullmq-otel stores the producer's context (opts.telemetry.metadata).
        ...(u.trace === undefined ? {} : { tm: u.trace }),
      });
      args.push(
        jobId,
        Buffer.from(data),
        Buffer.from(options),
        jobId,
        lane === undefined ? '' : String(u.updateId),
      );
    }
    const isNew = await this.#command(
      this.#fixedKeys.length + jobKeys.length,
      ...this.#fixedKeys,
      ...jobKeys,
      ...args,
    );
    return isNew.map(flag => flag === 1);
  }
}
