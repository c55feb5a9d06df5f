/**
 * The remote API answered, and the answer was "no" (a 4xx/5xx with a body). The request reached
 * the service, so it is known whether it took effect: a 429 or 5xx did not, a 2xx did.
 * Compare {@link UpstreamUnreachableError}, where we could not get an answer at all.
 */
export class ApiRejectedError extends Error {
  /** Which service: 'telegram', 'cursor-runner', 'elevenlabs'. */
  readonly service: string;
  /** The API method or path, without secrets (never the token-bearing URL). */
  readonly method: string;
  readonly status: number;
  /** The service's error text (Telegram `description`, ElevenLabs `detail.message`, …). */
  readonly description: string;
  /** Seconds the service asked us to wait (Telegram `parameters.retry_after`, `Retry-After`). */
  readonly retryAfter: number | undefined;
  /** A machine-readable reason when the service gives one (e.g. ElevenLabs `too_many_concurrent_requests`). */
  readonly code: string | undefined;
  /**
   * True when the answer was not the service's own error envelope (e.g. an HTML 502 from a proxy):
   * then we cannot tell whether the call took effect, and a non-idempotent call must not be repeated.
   */
  readonly ambiguous: boolean;

  constructor(opts: {
    service: string;
    method: string;
    status: number;
    description: string;
    retryAfter?: number | undefined;
    code?: string | undefined;
    ambiguous?: boolean;
  }) {
    super(`${opts.service} ${opts.method} failed with ${opts.status}: ${opts.description}`);
    this.name = 'ApiRejectedError';
    this.service = opts.service;
    this.method = opts.method;
    this.status = opts.status;
    this.description = opts.description;
    this.retryAfter = opts.retryAfter;
    this.code = opts.code;
    this.ambiguous = opts.ambiguous ?? false;
  }

  /** Whether the call may have had its effect (only when the answer was not the service's own error). */
  get mayHaveTakenEffect(): boolean {
    return this.ambiguous;
  }

  /** A 429 or a 5xx: trying again later can succeed. */
  get retryable(): boolean {
    return this.status === 429 || this.status >= 500;
  }
}
