import type { IncomingMessage } from 'node:http';
import { ROOT_CONTEXT, SpanStatusCode, propagation } from '@opentelemetry/api';
import { tracingEnabled } from './tracing-state.ts';
import { inServerSpan } from './trace-context.ts';

/** Probes and scrapes: a span each would drown the traces that matter. */
const UNTRACED_PATHS = new Set(['/health', '/ready', '/metrics']);

/** What {@link traceRequests} reads of a Koa context (Koa's `Context` fits). */
export interface TracedRequestContext {
  method: string;
  path: string;
  status: number;
  req: IncomingMessage;
  /** The route pattern @koa/router matched, if any. */
  _matchedRoute?: string | RegExp | undefined;
}

/**
 * Koa middleware (register it first) that opens one SERVER span per request, named
 * `<method> <route pattern>`, continuing a `traceparent` the caller sent. It stands in for
 * node:http's instrumentation, which wraps every request of the process and its emitters, sampled
 * or not (the webhook's hot path opens its own span, `inServerSpan`). Only the path is recorded,
 * never the query (cursor-runner may send its secret as `?secret=`). Probes and scrapes get none,
 * nor requests whose handler opens its own server span (`tracesItself`).
 */
export function traceRequests(
  opts: {
    /** Requests whose handler traces itself (e.g. the webhook mounted on Koa). @defaultValue none */
    tracesItself?: (req: IncomingMessage) => boolean;
  } = {},
) {
  return async function traceRequests(
    ctx: TracedRequestContext,
    next: () => Promise<unknown>,
  ): Promise<void> {
    if (!tracingEnabled() || UNTRACED_PATHS.has(ctx.path) || opts.tracesItself?.(ctx.req) === true) {
      await next();
      return;
    }
    const parent = propagation.extract(ROOT_CONTEXT, ctx.req.headers);
    const attributes = { 'http.request.method': ctx.method, 'url.path': ctx.path };
    await inServerSpan(
      ctx.method,
      attributes,
      async span => {
        await next();
        if (span?.isRecording() !== true) return;
        const route = ctx._matchedRoute;
        if (typeof route === 'string') {
          span.setAttribute('http.route', route);
          span.updateName(`${ctx.method} ${route}`);
        }
        span.setAttribute('http.response.status_code', ctx.status);
        if (ctx.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      },
      parent,
    );
  };
}
