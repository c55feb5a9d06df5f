import Koa from 'koa';
import type { Next } from 'koa';
import type { SandboxContext, SandboxCtxState } from './context.ts';
import { controlRoutes } from './control/routes.ts';
import { cursorRunnerRoutes } from './cursor-runner/routes.ts';
import { elevenLabsRoutes } from './elevenlabs/routes.ts';
import { errorHandler } from './middleware/error-handler.ts';
import { recordCalls } from './middleware/record-calls.ts';
import type { SandboxState } from './sandbox-state.ts';
import { telegramBotApi } from './telegram/bot-api.ts';

function notFound() {
  return async function notFound(ctx: SandboxContext, next: Next): Promise<void> {
    await next();
    if (ctx.body !== undefined || ctx.status !== 404) return;
    ctx.status = 404;
    // Each upstream has its own 404 shape: FastAPI for ElevenLabs, Express JSON for cursor-runner.
    ctx.body = ctx.path.startsWith('/v1/')
      ? { detail: 'Not Found' }
      : {
          success: false,
          error: 'Route not found',
          path: ctx.path.startsWith('/file/bot') ? '/file/bot<token>/…' : ctx.path,
          method: ctx.method,
        };
  };
}

/** The Koa app of the sandbox (no listening here): all three stand-ins plus `/sandbox/*` control. */
export function createSandboxApp(state: SandboxState, onReset: () => void): Koa<SandboxCtxState> {
  const app = new Koa<SandboxCtxState>();
  const logger = state.options.logger;
  // Client aborts while a body streams are normal here (timeouts, 20 MB caps): not errors.
  app.on('error', (err: Error) => logger.debug({ error: err.message }, 'sandbox response error'));
  app.use(recordCalls(state));
  app.use(errorHandler(logger));
  app.use(notFound());
  app.use(telegramBotApi(state));
  for (const router of [controlRoutes(state, onReset), cursorRunnerRoutes(state), elevenLabsRoutes(state)]) {
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  return app;
}
