import type { ServerResponse } from 'node:http';
import { continuePending } from './expect-continue.ts';
import { endWithLingeringClose } from './lingering-close.ts';

/**
 * Write a complete answer on a raw `ServerResponse` the way Koa would (same content types and
 * lengths), for the routes that bypass Koa on the hot path and for answers that close the
 * connection. A string is sent as text/plain, an object as JSON. With `closeConnection`, a request
 * body that is still arriving is drained (bounded) before the close, so the client reads the
 * answer instead of a reset (see {@link endWithLingeringClose}).
 */
export function sendRaw(
  res: ServerResponse,
  status: number,
  body: string | Record<string, unknown>,
  headers?: Record<string, string>,
  closeConnection = false,
): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.statusCode = status;
  res.setHeader(
    'Content-Type',
    typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
  );
  res.setHeader('Content-Length', Buffer.byteLength(text));
  if (headers !== undefined) for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  if (closeConnection) res.setHeader('Connection', 'close');
  // A client still waiting for 100 Continue sends no body: nothing to drain.
  if (closeConnection && !res.req.complete && !continuePending(res.req)) endWithLingeringClose(res, text);
  else res.end(text);
}
