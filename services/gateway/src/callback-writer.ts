import {
  DEFAULT_JOB_OPTIONS,
  JOB_NAMES,
  LaneWriter,
  callbackJobId,
  callbackStateKey,
  encodeJobOptions,
  inProducerSpan,
  legacyCallbackStateKey,
  parseCallbackState,
  type QueueRef,
  type CursorRunnerResult,
  type RedisClient,
} from '@telegram-receiver/core';

/**
 * Writes a cursor-runner callback as a `callbacks` job in its chat's lane, so the chat's replies
 * go out in the order its callbacks arrived, after everything the chat's earlier updates send.
 * The chat comes from the prompt's callback state record (`<prefix>:callback:<requestId>`,
 * written by the worker before it called cursor-runner); without one (expired, already answered,
 * never ours) the job is a lane of its own and the worker finds nobody to answer. The record is read
 * with its own command before the append (the seed's unprefixed key, still read for records written before
 * an upgrade, may live in another Redis Cluster slot than the lane). The record also carries the
 * update's trace: the job's producer span continues it (linked to the callback request's span) and
 * the job stores its context as BullMQ's `tm`, so the callback's processing joins the update's trace.
 */
export class CallbackWriter {
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly #lanes: LaneWriter;
  readonly #baseOptions: Record<string, unknown>;
  readonly #queueName: string;

  constructor(opts: { queue: QueueRef; redis: RedisClient; prefix: string }) {
    this.#redis = opts.redis;
    this.#prefix = opts.prefix;
    this.#lanes = new LaneWriter(opts);
    this.#queueName = opts.queue.name;
    this.#baseOptions = encodeJobOptions({ ...DEFAULT_JOB_OPTIONS, ...opts.queue.defaultJobOptions });
  }

  /** Store the callback; resolves with whether it was new (false: a repeated callback, a no-op). */
  async write(result: CursorRunnerResult): Promise<boolean> {
    // The seed's key only when ours is missing: a prompt the worker sent before the upgrade.
    const raw =
      (await this.#redis.get(callbackStateKey(this.#prefix, result.requestId))) ??
      (await this.#redis.get(legacyCallbackStateKey(result.requestId)));
    const state = raw === null ? null : parseCallbackState(raw);
    const jobId = callbackJobId(result.requestId);
    const timestamp = Date.now();
    const lane = state === null ? null : { bot: state.bot, lane: `chat:${state.chat_id}` };
    const data = JSON.stringify({
      result,
      receivedAt: timestamp,
      ...(lane === null ? {} : { bot: lane.bot, lane: lane.lane }),
    });
    const [isNew] = await inProducerSpan(
      this.#queueName,
      JOB_NAMES.cursorRunnerCallback,
      async trace => {
        // Where Queue.add with bullmq-otel stores the producer's context (opts.telemetry.metadata).
        const opts = JSON.stringify({
          ...this.#baseOptions,
          jobId,
          ...(trace === undefined ? {} : { tm: trace }),
        });
        return await this.#lanes.append(
          JOB_NAMES.cursorRunnerCallback,
          [{ jobId, data, opts, lane }],
          timestamp,
        );
      },
      { continues: state?.trace },
    );
    return isNew === true;
  }
}
