import { Queue } from 'bullmq';
import type { RedisClient } from './redis-connection.ts';
import { bullmqTelemetry } from './tracing/trace-context.ts';
import {
  QUEUE_NAMES,
  SIDE_QUEUE_NAMES,
  type CallbackJobData,
  type JobName,
  type UpdateJobData,
} from './job-contracts.ts';
import { defaultJobOptionsFor, type DeadLetterRetention } from './queue-refs.ts';

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
  const common = {
    connection,
    prefix,
    defaultJobOptions: defaultJobOptionsFor(retention),
    telemetry: bullmqTelemetry(),
  };
  return {
    updates: new Queue<UpdateJobData, unknown, JobName>(QUEUE_NAMES.updates, common),
    callbacks: new Queue<CallbackJobData, unknown, JobName>(QUEUE_NAMES.callbacks, common),
    notices: new Queue<Record<string, unknown>, unknown, string>(SIDE_QUEUE_NAMES.notices, common),
  };
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.all([queues.updates.close(), queues.callbacks.close(), queues.notices.close()]);
}
