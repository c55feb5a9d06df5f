import type { Logger } from 'pino';
import type { Dispatcher, FormData } from 'undici';
import { classifyCallError, type CallContext, type RawResponse } from './classify-error.ts';

/** One HTTP exchange as the clients make it. */
export interface HttpCallRequest {
  agent: Dispatcher;
  /** The full URL. It may carry a secret (Bot API token), so it is never logged nor put in errors. */
  url: URL;
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string | Uint8Array | FormData;
  /** Deadline of the whole exchange, body included; past it the call fails as a `timeout`. */
  timeoutMs: number;
  /** Largest body read; the exchange is aborted as soon as it is exceeded. */
  maxBodyBytes: number;
  /** The error thrown when the body is too large (`declared` = its Content-Length, if any). */
  tooLarge: (res: { status: number; declaredBytes: number | undefined }) => Error;
  ctx: CallContext;
  logger?: Logger | undefined;
}

/**
 * Make one request through the shared agent and read the answer, bounded in time and size. Network
 * failures come back as typed errors ({@link classifyCallError}); any status is returned as is.
 */
export async function httpCall(req: HttpCallRequest): Promise<RawResponse> {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort();
  }, req.timeoutMs);
  const started = performance.now();
  let tooLarge: Error | undefined;
  try {
    const res = await req.agent.request({
      origin: req.url.origin,
      path: `${req.url.pathname}${req.url.search}`,
      method: req.method,
      headers: req.headers ?? {},
      body: req.body ?? null,
      signal: controller.signal,
    });
    const declaredHeader = res.headers['content-length'];
    const declared = typeof declaredHeader === 'string' ? Number(declaredHeader) : undefined;
    if (declared !== undefined && Number.isFinite(declared) && declared > req.maxBodyBytes) {
      tooLarge = req.tooLarge({ status: res.statusCode, declaredBytes: declared });
      res.body.destroy();
      throw tooLarge;
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      total += chunk.byteLength;
      if (total > req.maxBodyBytes) {
        tooLarge = req.tooLarge({ status: res.statusCode, declaredBytes: undefined });
        res.body.destroy();
        throw tooLarge;
      }
      chunks.push(chunk);
    }
    req.logger?.debug(
      {
        upstream: req.ctx.service,
        method: req.ctx.method,
        status: res.statusCode,
        bytes: total,
        ms: Math.round(performance.now() - started),
      },
      'outbound call',
    );
    // A plain Uint8Array of its own (not a view into Buffer's shared pool), safe to hand to Blob.
    const body = new Uint8Array(total);
    let offset = 0;
    for (const chunk of chunks) {
      body.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return { status: res.statusCode, headers: res.headers, body };
  } catch (err) {
    if (tooLarge !== undefined && err === tooLarge) throw err;
    throw classifyCallError(err, req.ctx, controller.signal.aborted);
  } finally {
    clearTimeout(timer);
  }
}
