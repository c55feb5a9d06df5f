import {
  DelegateBackoff,
  ExponentialBackoff,
  handleWhen,
  retry,
  type IBackoff,
  type IRetryBackoffContext,
  type RetryPolicy,
} from 'cockatiel';
import type { Logger } from 'pino';
import { ApiRejectedError } from '../errors/api-rejected-error.ts';
import { UpstreamUnreachableError } from '../errors/upstream-unreachable-error.ts';
import { recordThrottle } from '../metrics/client-metrics.ts';

/** Retry settings shared by the Telegram and ElevenLabs clients. */
export interface RetryOptions {
  /**
   * Attempts per call, the first included (1 = never retry).
   * @defaultValue 3
   */
  maxAttempts?: number;
  /**
   * Longest `retry_after` / `Retry-After` waited for inside the call. A longer one is thrown as
   * {@link ApiRejectedError} with `retryAfter`, so the job is delayed instead of holding a worker.
   * @defaultValue 5
   */
  maxInlineRetryAfterSeconds?: number;
  /**
   * First backoff delay when the service gave no hint (exponential with jitter after it).
   * @defaultValue 250
   */
  initialDelayMs?: number;
  /**
   * Longest backoff delay when the service gave no hint.
   * @defaultValue 5000
   */
  maxDelayMs?: number;
}

export const RETRY_DEFAULTS = {
  maxAttempts: 3,
  maxInlineRetryAfterSeconds: 5,
  initialDelayMs: 250,
  maxDelayMs: 5_000,
} as const satisfies Required<RetryOptions>;

/**
 * `idempotent`: repeating the call is harmless (reads, setWebhook, chat actions, STT/TTS).
 * `effect-once`: a send the chat would see twice (sendMessage, sendVoice, …); repeated only when
 * the failed attempt certainly had no effect.
 */
export type CallKind = 'idempotent' | 'effect-once';

/** Whether `err` may be retried for a call of this kind (before counting attempts). */
export function isRetryable(err: unknown, kind: CallKind, maxInlineRetryAfterSeconds: number): boolean {
  if (err instanceof UpstreamUnreachableError) return kind === 'idempotent' || err.safeToRetry;
  if (!(err instanceof ApiRejectedError) || !err.retryable) return false;
  if (err.retryAfter !== undefined && err.retryAfter > maxInlineRetryAfterSeconds) return false;
  // 429 and the service's own 5xx envelope mean "not done"; an ambiguous answer may hide a done send.
  return kind === 'idempotent' || !err.mayHaveTakenEffect;
}

/** Extra knobs of {@link createRetryPolicy}. */
export interface RetryPolicyExtras {
  /** A service-specific delay for an error (ms), or undefined to use `retryAfter` / backoff. */
  delayFor?: (err: unknown) => number | undefined;
  /** Gets a `warn` line per retry (service, method, attempt, delay, reason; no URLs). */
  logger?: Logger | undefined;
}

type Ctx = IRetryBackoffContext<unknown>;

/**
 * A cockatiel retry policy for one call kind. The wait before a retry is, in order: the
 * service-specific `delayFor`, the error's `retryAfter` (seconds), else exponential backoff.
 */
export function createRetryPolicy(
  kind: CallKind,
  opts: RetryOptions = {},
  extras: RetryPolicyExtras = {},
): RetryPolicy {
  // Field by field, so an option passed as `undefined` still gets its default.
  const o = {
    maxAttempts: opts.maxAttempts ?? RETRY_DEFAULTS.maxAttempts,
    maxInlineRetryAfterSeconds: opts.maxInlineRetryAfterSeconds ?? RETRY_DEFAULTS.maxInlineRetryAfterSeconds,
    initialDelayMs: opts.initialDelayMs ?? RETRY_DEFAULTS.initialDelayMs,
    maxDelayMs: opts.maxDelayMs ?? RETRY_DEFAULTS.maxDelayMs,
  };
  const exponential = new ExponentialBackoff({ initialDelay: o.initialDelayMs, maxDelay: o.maxDelayMs });
  const backoff = new DelegateBackoff<Ctx, IBackoff<unknown> | undefined>((context, state) => {
    const next = state === undefined ? exponential.next() : state.next(context);
    const err = 'error' in context.result ? context.result.error : undefined;
    const hinted =
      extras.delayFor?.(err) ??
      (err instanceof ApiRejectedError && err.retryAfter !== undefined ? err.retryAfter * 1000 : undefined);
    return { delay: hinted ?? next.duration, state: next };
  });
  const policy = retry(
    handleWhen(err => isRetryable(err, kind, o.maxInlineRetryAfterSeconds)),
    // cockatiel counts retries, we count attempts.
    { maxAttempts: Math.max(0, o.maxAttempts - 1), backoff },
  );
  policy.onRetry(event => {
    const err = 'error' in event ? event.error : undefined;
    if (err instanceof ApiRejectedError && err.status === 429) recordThrottle(err.service, event.delay);
  });
  const { logger } = extras;
  if (logger !== undefined) {
    policy.onRetry(event => {
      const err = 'error' in event ? event.error : undefined;
      logger.warn(
        {
          upstream: (err as { service?: string } | undefined)?.service,
          method: (err as { method?: string } | undefined)?.method,
          attempt: event.attempt,
          delayMs: event.delay,
          reason: describeForLog(err),
        },
        'retrying outbound call',
      );
    });
  }
  return policy;
}

/** A short, secret-free reason for logs. */
function describeForLog(err: unknown): string {
  if (err instanceof UpstreamUnreachableError) return `unreachable:${err.phase}`;
  if (err instanceof ApiRejectedError) return `rejected:${err.status}${err.code ? `:${err.code}` : ''}`;
  return err instanceof Error ? err.name : 'unknown';
}
