import {
  DEFAULT_JOB_OPTIONS,
  JOB_NAMES,
  LaneWriter,
  UPDATE_DEDUP_TTL_MS,
  encodeJobOptions,
  updateJobId,
  type TelegramUpdate,
  type QueueRef,
  type RedisClient,
} from '@telegram-receiver/core';

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
 * Writes a batch of updates as BullMQ jobs, each appended to its chat's lane, with one Lua call
 * (`LaneWriter`, packages/core/src/lanes/lane-writer.ts): per update, the writes BullMQ's own
 * `addStandardJob` makes for a job with a custom id and a 24 h throttle-mode deduplication id,
 * and the lane entry; an update whose chat is busy is parked in the lane instead of the wait list.
 *
 * Why not `queue.addBulk`: on the webhook's hot path BullMQ spends ~60 µs of client CPU and ~60 µs
 * of Redis time per job (a script call each, with msgpack packing), more than the whole HTTP
 * exchange, and it has no place for the lane. The stored jobs are BullMQ's own format, pinned by a
 * conformance test that compares this writer's keys with `Queue.add`'s field by field, so BullMQ
 * workers, QueueEvents and the dashboards see no difference. Keep bullmq's version pinned and
 * re-run that test when upgrading it.
 */
export class UpdateWriter {
  readonly #lanes: LaneWriter;
  readonly #baseOptions: Record<string, unknown>;

  constructor(opts: { queue: QueueRef; redis: RedisClient; prefix: string }) {
    this.#lanes = new LaneWriter(opts);
    // The queue's default job options, as Queue.add would merge them under each job's own.
    this.#baseOptions = encodeJobOptions({ ...DEFAULT_JOB_OPTIONS, ...opts.queue.defaultJobOptions });
  }

  /** Write the batch; resolves with, per update, whether it was new (false = a re-delivery). */
  async write(batch: readonly PendingUpdate[]): Promise<boolean[]> {
    const timestamp = Date.now();
    const items = batch.map(u => {
      const jobId = updateJobId(u.bot, u.updateId);
      const data = JSON.stringify({ bot: u.bot, update: u.update, lane: u.lane, receivedAt: timestamp });
      const options = JSON.stringify({
        ...this.#baseOptions,
        jobId,
        de: { id: jobId, ttl: UPDATE_DEDUP_TTL_MS },
        // Where Queue.add with bullmq-otel stores the producer's context (opts.telemetry.metadata).
        ...(u.trace === undefined ? {} : { tm: u.trace }),
      });
      return {
        jobId,
        data: Buffer.from(data),
        opts: Buffer.from(options),
        dedup: { id: jobId, ttlMs: UPDATE_DEDUP_TTL_MS },
        lane: u.lane === null ? null : { bot: u.bot, lane: u.lane },
      };
    });
    return await this.#lanes.append(JOB_NAMES.telegramUpdate, items, timestamp);
  }
}
