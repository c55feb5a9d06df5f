import type { Logger } from '@telegram-receiver/core';
import type { Next } from 'koa';
import type { SandboxContext } from '../context.ts';

/**
 * Last resort: a bug in a stand-in answers 500 with a JSON body and is logged (message only: the
 * path may hold a bot token, so it is never logged), and the server keeps serving.
 */
export function errorHandler(logger: Logger) {
  return async function errorHandler(ctx: SandboxContext, next: Next): Promise<void> {
    try {
      await next();
    } catch (err) {
      logger.error(
        { err, upstream: ctx.state.call?.service, method: ctx.state.call?.method },
        'sandbox handler failed',
      );
      if (ctx.headerSent || !ctx.writable) return;
      ctx.status = 500;
      ctx.body = { error: 'internal sandbox error' };
    }
  };
}
