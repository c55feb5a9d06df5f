/**
 * We could not get an answer from a remote service. `phase` says how far the request got, which
 * decides whether a retry is safe for a call that is not idempotent (sending a chat message):
 * - `connect`: the connection was never established; the request cannot have had an effect.
 * - `timeout` / `reset`: the request may have reached the service; repeating it may duplicate it.
 */
export class UpstreamUnreachableError extends Error {
  readonly service: string;
  readonly method: string;
  readonly phase: 'connect' | 'timeout' | 'reset';

  constructor(opts: {
    service: string;
    method: string;
    phase: 'connect' | 'timeout' | 'reset';
    cause?: unknown;
  }) {
    super(
      `${opts.service} ${opts.method}: ${
        opts.phase === 'connect'
          ? 'could not connect'
          : opts.phase === 'timeout'
            ? 'timed out waiting for an answer'
            : 'connection dropped before an answer'
      }`,
      { cause: opts.cause },
    );
    this.name = 'UpstreamUnreachableError';
    this.service = opts.service;
    this.method = opts.method;
    this.phase = opts.phase;
  }

  /** True when the request certainly did not reach the service, so any call may be repeated. */
  get safeToRetry(): boolean {
    return this.phase === 'connect';
  }

  /** Whether the call may have had its effect (it may, unless the connection was never made). */
  get mayHaveTakenEffect(): boolean {
    return this.phase !== 'connect';
  }
}
