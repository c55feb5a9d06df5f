import type { IncomingMessage } from 'node:http';
import type { Context, Next } from 'koa';
import { HttpRejection } from '../errors/http-rejection.ts';
import { sendContinue } from '../expect-continue.ts';
import type { RejectionReason } from '../metrics.ts';

/** Options of {@link jsonBody}. */
export interface JsonBodyOptions {
  /** Largest accepted body in bytes; larger → 413, and the rest is not read. */
  limit: number;
  /**
   * Deepest accepted nesting of arrays/objects. A legitimate Telegram update nests about ten
   * levels; a hostile one nested thousands deep parses fine but later breaks `JSON.stringify`
   * (stack overflow) when the job is stored, so it is refused up front with a 400.
   * @defaultValue 128
   */
  maxDepth?: number;
  /** The route's error envelope, e.g. `m => ({ ok: false, error: m })`. */
  errorBody: (message: string) => Record<string, unknown>;
  /**
   * Tag rejections with a `webhook_rejections_total` reason (the webhook routes).
   * @defaultValue false
   */
  countRejections?: boolean;
  /**
   * Let a request without a body through (`ctx.state.body` is then `undefined`).
   * @defaultValue false
   */
  optional?: boolean;
}

/** What {@link jsonBody} leaves in `ctx.state`. */
export interface JsonBodyState {
  /** The parsed JSON value (any JSON value: the route checks the shape). */
  body: unknown;
}

const JSON_TYPE = 'application/json';

/**
 * Read and parse a JSON request body with a hard size limit, without a body-parser library (it is
 * the webhook's hot path). A declared Content-Length over the limit is refused before reading; a
 * chunked body that grows over it is refused as soon as it does, and the answer closes the
 * connection after a bounded drain. A client waiting for `100 Continue` gets it only once the
 * checks before the read have passed, so a refused body is never sent. Accepts `application/json`
 * (any parameters) and a missing Content-Type.
 * Throws an {@link HttpRejection} (400, 413, 415) for anything else.
 */
export async function readJsonRequest(req: IncomingMessage, opts: JsonBodyOptions): Promise<unknown> {
  const { limit, errorBody } = opts;
  const maxDepth = opts.maxDepth ?? 128;
  const counted = opts.countRejections === true;
  const reject: Reject = (status, reason, message, closeConnection = false) =>
    new HttpRejection({
      status,
      body: errorBody(message),
      ...(counted ? { reason } : {}),
      closeConnection,
    });
  const headers = req.headers;
  const declared = headers['content-length'];
  const unreadBodyIsLarge = mayBeLarge(req);
  const type = headers['content-type'];
  if (type !== undefined && type !== '' && !isJson(type)) {
    throw reject(415, 'unsupported_media_type', `Content-Type must be ${JSON_TYPE}`, unreadBodyIsLarge);
  }
  const encoding = headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    throw reject(415, 'unsupported_media_type', 'Content-Encoding is not supported', unreadBodyIsLarge);
  }
  if (declared !== undefined && Number(declared) > limit) {
    throw reject(413, 'too_large', `body larger than ${limit} bytes`, true);
  }
  // Only now may a client that sent `Expect: 100-continue` start its upload.
  sendContinue(req);
  const raw = await readRaw(req, limit, reject);
  if (exceedsDepth(raw, maxDepth)) {
    throw reject(400, 'bad_request', `JSON nested deeper than ${maxDepth} levels`);
  }
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw reject(400, 'bad_request', 'body is not valid JSON');
  }
}

/** Koa middleware around {@link readJsonRequest}: leaves the parsed value in `ctx.state.body`. */
export function jsonBody(opts: JsonBodyOptions) {
  const optional = opts.optional === true;
  return async function jsonBody(ctx: Context, next: Next): Promise<void> {
    const headers = ctx.req.headers;
    const declared = headers['content-length'];
    if (
      optional &&
      (declared === '0' || (declared === undefined && headers['transfer-encoding'] === undefined))
    ) {
      (ctx.state as JsonBodyState).body = undefined;
      await next();
      return;
    }
    (ctx.state as JsonBodyState).body = await readJsonRequest(ctx.req, opts);
    await next();
  };
}

/**
 * True when the request's body, if we answer without reading it, should not be drained on the
 * keep-alive socket (chunked, or declared large): then the answer closes the connection instead.
 */
export function mayBeLarge(req: IncomingMessage): boolean {
  const declared = req.headers['content-length'];
  if (declared === undefined) return req.headers['transfer-encoding'] !== undefined;
  return Number(declared) > 65_536;
}

function isJson(contentType: string): boolean {
  const semi = contentType.indexOf(';');
  const media = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return media === JSON_TYPE;
}

type Reject = (status: number, reason: RejectionReason, message: string, closeConnection?: boolean) => Error;

/** Collect the body, failing with a 413 the moment it passes `limit`. */
async function readRaw(req: IncomingMessage, limit: number, fail: Reject): Promise<Buffer> {
  return await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        // Stop pulling bytes; the response closes the connection.
        req.pause();
        reject(fail(413, 'too_large', `body larger than ${limit} bytes`, true));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(Object.assign(fail(400, 'bad_request', 'request body could not be read', true), { cause: err }));
    };
    const onClose = () => {
      if (req.complete) return;
      cleanup();
      reject(fail(400, 'bad_request', 'request body incomplete', true));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** True when the JSON text nests arrays/objects deeper than `max` (brackets inside strings ignored). */
export function exceedsDepth(raw: Uint8Array, max: number): boolean {
  // A body this short cannot nest deeper than max, so the common small update skips the scan.
  if (raw.length <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > max) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}
