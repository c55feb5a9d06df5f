import type { Job } from 'bullmq';
import { DelayedError, UnrecoverableError } from 'bullmq';
import { ApiRejectedError, type Logger } from '@telegram-receiver/core';
import { describe } from './chat-replies.ts';
import { StepInFlightError } from '../ledger/send-ledger.ts';

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
  // Another run is still performing a step of this job: wait for it, not an attempt.
  if (err instanceof StepInFlightError) return err.retryInMs;
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

/**
 * Hand a failed attempt back to BullMQ when trying again can help, else return (the failure is
 * final). A 429 with a long `retry_after` moves the job to the delayed set and throws
 * `DelayedError`, without spending an attempt (an update's lane keeps its chat waiting behind
 * it); a transient failure before the last attempt is re-thrown for BullMQ's retry.
 */
export async function deferIfRetryable(
  job: Job,
  token: string | undefined,
  err: unknown,
  log: Logger,
  what: string,
): Promise<void> {
  const delay = rateLimitDelayMs(err);
  if (delay !== undefined && token !== undefined) {
    log.warn({ delayMs: delay, reason: describe(err) }, 'rate limited upstream; job delayed');
    await job.moveToDelayed(Date.now() + delay, token);
    throw new DelayedError();
  }
  if (isTransient(err) && !isLastAttempt(job)) {
    log.warn({ attempt: job.attemptsMade + 1, reason: describe(err) }, `${what} failed; will retry`);
    throw err;
  }
}
