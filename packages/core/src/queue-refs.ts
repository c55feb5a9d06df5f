import type { DefaultJobOptions, JobsOptions } from 'bullmq';
import { QUEUE_NAMES, SIDE_QUEUE_NAMES, type AnyQueueName } from './job-contracts.ts';

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

/** How long failed jobs (dead letters) are kept (`DEAD_LETTER_RETENTION_HOURS`, `DEAD_LETTER_MAX`). */
export interface DeadLetterRetention {
  /** @defaultValue 168 */
  hours: number;
  /** Most kept per queue; the oldest go first. @defaultValue 100000 */
  max: number;
}

/** {@link DEFAULT_JOB_OPTIONS} with the dead letters kept per `retention`. */
export function defaultJobOptionsFor(retention?: DeadLetterRetention): DefaultJobOptions {
  return retention === undefined
    ? DEFAULT_JOB_OPTIONS
    : { ...DEFAULT_JOB_OPTIONS, removeOnFail: { age: retention.hours * 3600, count: retention.max } };
}

// BullMQ's QueueKeys.getKeys(), suffix by suffix (test/queue-refs.redis.test.ts compares them with it).
const BULLMQ_KEY_SUFFIXES = [
  '',
  'active',
  'wait',
  'waiting-children',
  'paused',
  'id',
  'delayed',
  'prioritized',
  'stalled-check',
  'completed',
  'failed',
  'stalled',
  'repeat',
  'limiter',
  'meta',
  'events',
  'pc',
  'marker',
  'de',
] as const;

/** The Redis keys of queue `name` under `prefix`, named as BullMQ names them (`Queue.keys`). */
export function bullmqKeys(prefix: string, name: string): Readonly<Record<string, string>> {
  return Object.fromEntries(BULLMQ_KEY_SUFFIXES.map(suffix => [suffix, `${prefix}:${name}:${suffix}`]));
}

/**
 * BullMQ's `optsEncodeMap`: the option names its Redis backend stores in short form. A copy, so that
 * writing a job does not load BullMQ; test/queue-refs.redis.test.ts compares it with BullMQ's own.
 */
export const OPTS_ENCODE_MAP: Readonly<Record<string, string>> = {
  deduplication: 'de',
  failParentOnFailure: 'fpof',
  continueParentOnFailure: 'cpof',
  ignoreDependencyOnFailure: 'idof',
  keepLogs: 'kl',
  removeDependencyOnFailure: 'rdof',
};

/** BullMQ's stored form of job options (short keys for a few fields), as its Redis backend writes them. */
export function encodeJobOptions(opts: JobsOptions): Record<string, unknown> {
  const encoded: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(opts)) {
    if (value === undefined) continue;
    encoded[OPTS_ENCODE_MAP[name] ?? name] = value;
  }
  return encoded;
}

/**
 * A queue as the code that writes and reads BullMQ's keys itself needs it: name, keys and default
 * job options. A BullMQ `Queue` is one; {@link queueRefs} makes them without loading BullMQ, so a
 * process that never calls BullMQ (the gateway, until an operator lists dead letters) does not pay
 * its memory (docs/operations.md, "Memory").
 */
export interface QueueRef {
  readonly name: string;
  readonly keys: Readonly<Record<string, string>>;
  readonly defaultJobOptions: DefaultJobOptions;
}

/** The queues of `createQueues` as {@link QueueRef}s: the job contract's two and the side queue. */
export interface QueueRefs {
  updates: QueueRef;
  callbacks: QueueRef;
  /** The worker's still-working checks: only its dead letters are read here. */
  notices: QueueRef;
}

/** The job contract's queues under `prefix`, with BullMQ's keys and the default job options of `createQueues`. */
export function queueRefs(prefix: string, retention?: DeadLetterRetention): QueueRefs {
  const defaultJobOptions = defaultJobOptionsFor(retention);
  const ref = (name: AnyQueueName): QueueRef => ({
    name,
    keys: bullmqKeys(prefix, name),
    defaultJobOptions,
  });
  return {
    updates: ref(QUEUE_NAMES.updates),
    callbacks: ref(QUEUE_NAMES.callbacks),
    notices: ref(SIDE_QUEUE_NAMES.notices),
  };
}
