import type { ServerResponse } from 'node:http';

/**
 * Write a complete answer on a raw `ServerResponse` the way Koa would (same content types and
 * lengths), for the routes that bypass Koa on the hot path. A string is sent as text/plain, an
 * object as JSON.
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
  res.end(text);
}
