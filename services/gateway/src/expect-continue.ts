import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * `Expect: 100-continue`, answered only when a route starts reading the body.
 *
 * Why: node:http sends `100 Continue` the moment the request head arrives, before any route has
 * looked at it. A client that declared a body over the limit then starts sending it, and the 413
 * that follows races the upload: curl saw the connection cut instead of its 413 about once in six.
 * Deferring the interim answer lets a route refuse (401, 413, 415) while the client still waits,
 * so it sends no body at all. Node skips its own `100 Continue` once a `checkContinue` listener
 * exists; {@link HttpServer} registers one that calls {@link deferContinue}.
 */
const pending = new WeakMap<IncomingMessage, ServerResponse>();

/**
 * Hold the request's `100 Continue` until {@link sendContinue} (from `checkContinue`). Until then
 * the answer closes the connection: a client told no `100 Continue` may or may not send its body,
 * so the socket cannot be reused safely after an answer that did not ask for it.
 */
export function deferContinue(req: IncomingMessage, res: ServerResponse): void {
  pending.set(req, res);
  res.setHeader('Connection', 'close');
}

/** Send the held `100 Continue`, once: call right before reading the body. No-op otherwise. */
export function sendContinue(req: IncomingMessage): void {
  const res = pending.get(req);
  if (res === undefined) return;
  pending.delete(req);
  if (res.headersSent) return;
  // The body will be read in full, so the connection may be kept (unless the server is draining,
  // which sets the header again before answering).
  res.removeHeader('Connection');
  res.writeContinue();
}

/** True while the client waits for `100 Continue` and so has sent no body yet. */
export function continuePending(req: IncomingMessage): boolean {
  return pending.has(req);
}
