import type { Job } from 'bullmq';
import { UnrecoverableError } from 'bullmq';
import { ApiRejectedError } from '@telegram-receiver/core';

/**
 * Retry decisions shared by the processors. BullMQ retries a job that throws (attempts and
 * exponential backoff from `DEFAULT_JOB_OPTIONS`); these helpers decide when throwing is useful.
 */

/** True on the job's last attempt: a failure now is final, so the user must hear about it now. */
export function isLastAttempt(job: Pick<Job, 'attemptsMade' | 'opts'>): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
}

/**
 * Whether trying the whole job again later can succeed: a 429 or 5xx, a service we could not reach,
 * or an unexpected error (Redis blip, bug). A 4xx answer ("chat not found", "prompt is required")
 * will be the same next time.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof UnrecoverableError) return false;
  if (err instanceof ApiRejectedError) return err.retryable;
  return true;
}

/**
 * A 429 that asked for a wait longer than the client waits inline: the job is moved to the
 * delayed set for that long, which does not count as an attempt (non-negotiable 4: honour
 * `retry_after`). Returns the wait in ms, or undefined.
 */
export function rateLimitDelayMs(err: unknown): number | undefined {
  if (!(err instanceof ApiRejectedError) || err.status !== 429 || err.retryAfter === undefined) {
    return undefined;
  }
  // A little jitter so a burst of delayed jobs does not return in lockstep.
  return Math.max(1, err.retryAfter) * 1000 + Math.floor(Math.random() * 250);
}

/** The user-facing text of an error: typed errors carry a safe message; cap it like the seed (4000). */
export function messageOf(err: unknown, max = 4000): string {
  const text =
    err instanceof ApiRejectedError
      ? err.description || err.message
      : err instanceof Error
        ? err.message
        : String(err);
  return text.length > max ? `${text.slice(0, max)}...` : text;
}
