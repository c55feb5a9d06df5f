import type { ServerResponse } from 'node:http';

/** Bounds of {@link endWithLingeringClose}. */
export interface LingerOptions {
  /** Most request-body bytes read and discarded after the answer. @defaultValue 8388608 (8 MiB) */
  maxBytes?: number;
  /** Longest time the connection stays open after the answer. @defaultValue 2000 */
  maxMs?: number;
}

export const LINGER_DEFAULTS: Required<LingerOptions> = { maxBytes: 8 * 1024 * 1024, maxMs: 2000 };

/**
 * Send a final answer to a request whose body is still arriving, then close the connection the
 * way HTTP/1.1 servers must (RFC 9112 §9.6, "lingering close").
 *
 * Why: closing a socket with unread bytes in its receive buffer makes the kernel send a reset,
 * and a client still uploading (curl posting a 2 MB update) may lose the 413 it was about to
 * read. So the whole answer is written first (its Content-Length tells the client it is
 * complete), the rest of the body is read and dropped, and the response is ended, which closes
 * the connection, when the body ends or after `maxBytes` or `maxMs`, whichever comes first. Both
 * bounds keep a hostile endless upload from holding the socket.
 *
 * The caller has set the status and headers (including `Content-Length` and `Connection: close`).
 */
export function endWithLingeringClose(res: ServerResponse, answer: string, opts: LingerOptions = {}): void {
  const { maxBytes, maxMs } = { ...LINGER_DEFAULTS, ...opts };
  const req = res.req;
  res.write(answer);
  let left = maxBytes;
  const finish = () => {
    clearTimeout(timer);
    req.off('data', onData);
    req.off('end', finish);
    req.off('error', finish);
    req.off('close', finish);
    if (!res.writableEnded) res.end();
  };
  const onData = (chunk: Buffer) => {
    left -= chunk.length;
    if (left < 0) finish();
  };
  const timer = setTimeout(finish, maxMs);
  req.on('data', onData);
  req.once('end', finish);
  req.once('error', finish);
  req.once('close', finish);
  req.resume();
}
