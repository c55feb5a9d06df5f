import { Queue, type DefaultJobOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { bullmqTelemetry } from './tracing/trace-context.ts';
import { QUEUE_NAMES, type CallbackJobData, type JobName, type UpdateJobData } from './job-contracts.ts';

/**
 * Job options applied to every job. Retries use exponential backoff; finished jobs are trimmed so
 * Redis memory stays bounded, and failed jobs stay a week as the dead-letter set for inspection
 * and replay.
 */
export const DEFAULT_JOB_OPTIONS: DefaultJobOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

export type UpdatesQueue = Queue<UpdateJobData, unknown, JobName>;
export type CallbacksQueue = Queue<CallbackJobData, unknown, JobName>;

/** The queues of the job contract, on one connection and prefix. */
export interface Queues {
  updates: UpdatesQueue;
  callbacks: CallbacksQueue;
}

/**
 * Open both queues (with BullMQ's telemetry when tracing is on, so `add` opens a producer span and
 * stores the trace in the job). The caller owns `connection` and closes it after {@link closeQueues}.
 */
export function createQueues(connection: Redis, prefix: string): Queues {
  const common = { connection, prefix, defaultJobOptions: DEFAULT_JOB_OPTIONS, telemetry: bullmqTelemetry() };
  return {
    updates: new Queue<UpdateJobData, unknown, JobName>(QUEUE_NAMES.updates, common),
    callbacks: new Queue<CallbackJobData, unknown, JobName>(QUEUE_NAMES.callbacks, common),
  };
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.all([queues.updates.close(), queues.callbacks.close()]);
}
