import type { RejectionReason } from '../metrics.ts';

/** Options of {@link HttpRejection}. */
export interface HttpRejectionOptions {
  status: number;
  /** Response body: a string is sent as text/plain, an object as JSON. */
  body: string | Record<string, unknown>;
  /** Counted in `webhook_rejections_total` (webhook routes only). */
  reason?: RejectionReason;
  /** Extra response headers (e.g. `Retry-After`). */
  headers?: Record<string, string>;
  /**
   * Close the connection after answering: the request body was not read (it may be huge or
   * endless), so the socket cannot be reused safely.
   * @defaultValue false
   */
  closeConnection?: boolean;
  cause?: unknown;
}

/**
 * A request the gateway refuses with a definite answer (4xx, or 503 when the update could not be
 * stored). Thrown by routes and middleware, turned into the response by the error-translation
 * middleware. The body is what the client sees, so it never holds a secret or internal detail.
 */
export class HttpRejection extends Error {
  readonly status: number;
  readonly body: string | Record<string, unknown>;
  readonly reason: RejectionReason | undefined;
  readonly headers: Record<string, string> | undefined;
  readonly closeConnection: boolean;

  constructor(opts: HttpRejectionOptions) {
    super(typeof opts.body === 'string' ? opts.body : String(opts.body.error ?? `HTTP ${opts.status}`), {
      cause: opts.cause,
    });
    this.name = 'HttpRejection';
    this.status = opts.status;
    this.body = opts.body;
    this.reason = opts.reason;
    this.headers = opts.headers;
    this.closeConnection = opts.closeConnection ?? false;
  }
}
