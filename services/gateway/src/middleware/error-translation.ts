import type { Logger } from '@telegram-receiver/core';
import type { Context, Next } from 'koa';
import { HttpRejection } from '../errors/http-rejection.ts';
import { sendRaw } from '../http-response.ts';
import type { GatewayMetrics } from '../metrics.ts';

/** Options of {@link errorTranslation}. */
export interface ErrorTranslationOptions {
  logger: Logger;
  metrics: GatewayMetrics;
}

/**
 * Turns what routes throw into answers: an {@link HttpRejection} becomes its status, body and
 * headers (and its rejection reason is counted); an error with a 4xx `status` and `expose` (Koa /
 * router errors) keeps its status and message; anything else is a 500 whose detail goes to the
 * log, never to the client. Registered before the routes so nothing escapes as Koa's default
 * text error page.
 */
export function errorTranslation(opts: ErrorTranslationOptions) {
  const { logger, metrics } = opts;
  return async function errorTranslation(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } catch (err) {
      if (err instanceof HttpRejection) {
        if (err.reason !== undefined) metrics.rejection(err.reason);
        if (err.closeConnection) {
          // Answered here, not by Koa: a body still arriving is drained before the close.
          ctx.status = err.status;
          ctx.respond = false;
          sendRaw(ctx.res, err.status, err.body, err.headers, true);
          return;
        }
        ctx.status = err.status;
        ctx.body = err.body;
        if (err.headers !== undefined) ctx.set(err.headers);
        return;
      }
      const status = statusOf(err);
      if (status !== undefined && status < 500) {
        ctx.status = status;
        ctx.body = { ok: false, error: (err as Error).message };
        return;
      }
      logger.error(
        { err, route: routeOf(ctx), method: ctx.method },
        'request failed with an unexpected error',
      );
      ctx.status = 500;
      ctx.body = { ok: false, error: 'Internal Server Error' };
    }
  };
}

function statusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { status, expose } = err as { status?: unknown; expose?: unknown };
  return typeof status === 'number' && status >= 400 && status <= 599 && expose === true ? status : undefined;
}

/** The matched route pattern (never the raw path, which may carry a secret in its query). */
export function routeOf(ctx: Context): string {
  const matched = (ctx as { _matchedRoute?: unknown })._matchedRoute;
  return typeof matched === 'string' ? matched : 'unmatched';
}
