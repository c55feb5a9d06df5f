import type { Job } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import {
  annotateActiveSpan,
  linkActiveSpan,
  recordPastSpan,
  recordingSpan,
  traceCarrier,
} from '@telegram-receiver/core';
import { RELEASED_AT_FIELD } from './lanes/lane-advancer.ts';
import { LuaScript } from './redis/lua-script.ts';

/**
 * The field of a job's hash (BullMQ ignores fields it does not know) holding the trace context of
 * its last failed attempt, so the next attempt links to it.
 */
export const PREVIOUS_ATTEMPT_FIELD = 'tr:attempt';

// Only a job that still exists gets the field: an HSET alone would leave a stray hash behind.
const REMEMBER_SCRIPT = new LuaScript(
  `if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 0`,
  1,
);

/** The part of a BullMQ job this reads. */
type AttemptJob = Pick<Job, 'id' | 'queueQualifiedName' | 'timestamp' | 'attemptsMade' | 'opts'>;

/**
 * What a job's trace shows beyond BullMQ's consumer span, for sampled attempts only (an unsampled
 * one costs nothing, not even a Redis call):
 *
 * - the lane wait: a `lane wait` span from the job's acceptance to its release from its chat's lane
 *   (`LaneAdvancer` writes the release time), child of the job's producer span, and
 *   `telegram_receiver.lane_wait_ms` on the consumer span (0 when the job was never parked);
 * - the retry chain: a failed attempt that will run again stores its span's context in the job, and
 *   the next attempt's consumer span links to it.
 */
export class AttemptTrace {
  readonly #redis: Redis | Cluster;

  constructor(opts: { redis: Redis | Cluster }) {
    this.#redis = opts.redis;
  }

  /** At the start of an attempt, inside its consumer span. Never throws (tracing must not fail a job). */
  async begin(job: AttemptJob): Promise<void> {
    if (!recordingSpan() || job.id === undefined) return;
    const fields = await this.#redis
      .hmget(`${job.queueQualifiedName}:${job.id}`, RELEASED_AT_FIELD, PREVIOUS_ATTEMPT_FIELD)
      .catch(() => undefined);
    if (fields === undefined) return;
    const [releasedAt = null, previous = null] = fields;
    const released = Number(releasedAt);
    const laneWaitMs =
      releasedAt === null || !Number.isFinite(released) ? 0 : Math.max(0, released - job.timestamp);
    annotateActiveSpan({ 'telegram_receiver.lane_wait_ms': laneWaitMs });
    // A retried job is still its lane's head: its lane wait belongs to its first attempt.
    if (laneWaitMs > 0 && job.attemptsMade === 0 && previous === null) {
      recordPastSpan(
        'lane wait',
        { 'telegram_receiver.wait_ms': laneWaitMs },
        job.timestamp,
        released,
        job.opts.telemetry?.metadata,
      );
    }
    if (previous !== null) linkActiveSpan(previous, { 'telegram_receiver.link': 'previous_attempt' });
  }

  /** When an attempt failed and the job will run again: remember this attempt's span for the next. */
  async retrying(job: AttemptJob): Promise<void> {
    if (!recordingSpan() || job.id === undefined) return;
    const carrier = traceCarrier();
    if (carrier === undefined) return;
    await REMEMBER_SCRIPT.run(
      this.#redis,
      [`${job.queueQualifiedName}:${job.id}`],
      [PREVIOUS_ATTEMPT_FIELD, carrier],
    ).catch(() => undefined);
  }
}
