/**
 * The gateway could not make an update durable (Redis unreachable, or the backlog is over its
 * limit). The webhook answers 503 with `Retry-After` so that Telegram keeps the update and retries.
 */
export class NotDurableError extends Error {
  readonly reason: 'redis_unavailable' | 'backlog_full';
  /** Seconds Telegram should wait before the retry. */
  readonly retryAfterSeconds: number;

  constructor(reason: 'redis_unavailable' | 'backlog_full', retryAfterSeconds: number, cause?: unknown) {
    super(
      reason === 'redis_unavailable'
        ? 'update not stored: Redis is unreachable; Telegram will retry'
        : 'update not stored: the queue backlog is over MAX_BACKLOG; Telegram will retry',
      { cause },
    );
    this.name = 'NotDurableError';
    this.reason = reason;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
