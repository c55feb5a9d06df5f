import type { Next } from 'koa';
import type { SandboxContext } from '../context.ts';
import type { SandboxState } from '../sandbox-state.ts';

function flatten(values: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key in values) {
    const value = values[key];
    if (value !== undefined) out[key] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/**
 * Record every call a route claimed (`ctx.state.call`) with the status it ended with. It records
 * before Koa writes the response, so a client that has its answer always finds the call recorded.
 */
export function recordCalls(state: SandboxState) {
  return async function recordCalls(ctx: SandboxContext, next: Next): Promise<void> {
    const seq = state.nextSeq();
    const at = Date.now();
    try {
      await next();
    } finally {
      const call = ctx.state.call;
      if (call !== undefined) {
        state.record({
          seq,
          at,
          service: call.service,
          method: call.method,
          ...(call.botId === undefined ? {} : { botId: call.botId }),
          ...(call.chatId === undefined ? {} : { chatId: call.chatId }),
          query: flatten(ctx.query),
          headers: flatten(ctx.headers),
          body: call.body ?? null,
          status: call.dropped ? 0 : ctx.status,
        });
        const { logger } = state.options;
        // Built only when someone reads it: this runs on every call the sandbox serves.
        if (logger.isLevelEnabled('debug')) {
          logger.debug(
            {
              upstream: call.service,
              method: call.method,
              status: call.dropped ? 0 : ctx.status,
              ms: Date.now() - at,
            },
            'sandbox call',
          );
        }
      }
    }
  };
}
