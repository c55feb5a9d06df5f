import { Queue, type DefaultJobOptions } from 'bullmq';
import type { RedisClient } from './redis-connection.ts';
import { bullmqTelemetry } from './tracing/trace-context.ts';
import {
  QUEUE_NAMES,
  SIDE_QUEUE_NAMES,
  type CallbackJobData,
  type JobName,
  type UpdateJobData,
} from './job-contracts.ts';

/**
 * Job options applied to every job. Retries use exponential backoff; finished jobs are trimmed so
 * Redis memory stays bounded, and failed jobs stay a week as the dead-letter set for inspection
 * and replay.
 */
export const DEFAULT_JOB_OPTIONS: DefaultJobOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 3600, count: 10_000 },
  // Dead letters: kept a week, and never more than this many per queue (a poison flood stays bounded).
  removeOnFail: { age: 7 * 24 * 3600, count: 100_000 },
};

export type UpdatesQueue = Queue<UpdateJobData, unknown, JobName>;
export type CallbacksQueue = Queue<CallbackJobData, unknown, JobName>;
/** The worker's still-working checks; their data is the worker's own (`NoticeJobData`). */
export type NoticesQueue = Queue<Record<string, unknown>, unknown, string>;

/** The queues of the job contract, and the side queue, on one connection and prefix. */
export interface Queues {
  updates: UpdatesQueue;
  callbacks: CallbacksQueue;
  /**
   * Only the worker's `NoticeScheduler` adds to it; it is opened here so the operator's tools can
   * read, inspect and discard its dead letters.
   */
  notices: NoticesQueue;
}

/** How long failed jobs (dead letters) are kept (`DEAD_LETTER_RETENTION_HOURS`, `DEAD_LETTER_MAX`). */
export interface DeadLetterRetention {
  /** @defaultValue 168 */
  hours: number;
  /** Most kept per queue; the oldest go first. @defaultValue 100000 */
  max: number;
}

/**
 * Open the queues (with BullMQ's telemetry when tracing is on, so `add` opens a producer span and
 * stores the trace in the job). The caller owns `connection` and closes it after {@link closeQueues}.
 * Jobs written through them (or with their `defaultJobOptions`) keep their dead letters per `retention`.
 */
export function createQueues(
  connection: RedisClient,
  prefix: string,
  retention?: DeadLetterRetention,
): Queues {
  const defaultJobOptions =
    retention === undefined
      ? DEFAULT_JOB_OPTIONS
      : { ...DEFAULT_JOB_OPTIONS, removeOnFail: { age: retention.hours * 3600, count: retention.max } };
  const common = { connection, prefix, defaultJobOptions, telemetry: bullmqTelemetry() };
  return {
    updates: new Queue<UpdateJobData, unknown, JobName>(QUEUE_NAMES.updates, common),
    callbacks: new Queue<CallbackJobData, unknown, JobName>(QUEUE_NAMES.callbacks, common),
    notices: new Queue<Record<string, unknown>, unknown, string>(SIDE_QUEUE_NAMES.notices, common),
  };
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.all([queues.updates.close(), queues.callbacks.close(), queues.notices.close()]);
}
