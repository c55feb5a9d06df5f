import { randomBytes } from 'node:crypto';
import { Router } from '@koa/router';
import { BodyError, parseBody, readRawBody } from '../body.ts';
import type { CallInfo, SandboxContext, SandboxCtxState } from '../context.ts';
import { applyFaults } from '../faults.ts';
import type { SandboxState } from '../sandbox-state.ts';
import { deliverCallback } from './callback.ts';
import { isSilentPrompt, promptDelayMs, resultBody, runPrompt, type IterateRequest } from './output.ts';

const BODY_LIMIT = 10 * 1024 * 1024;

function generatedId(): string {
  return `req-${Date.now()}-${BigInt(`0x${randomBytes(6).toString('hex')}`)
    .toString(36)
    .slice(0, 9)
    .padStart(9, '0')}`;
}

const text = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;

/**
 * Claim the call, read the iterate request and apply the faults. Answers itself (and returns
 * undefined) when the request is unusable (400/413) or a fault took the call.
 */
async function acceptIterate(
  ctx: SandboxContext,
  state: SandboxState,
  method: 'iterate' | 'iterate-async',
): Promise<IterateRequest | undefined> {
  const call: CallInfo = { service: 'cursor-runner', method };
  ctx.state.call = call;
  const req = await readIterate(ctx, call);
  if (req === undefined || (await applyFaults(ctx, state, call))) return undefined;
  return req;
}

/** Read an iterate request; answers 400 itself (and returns undefined) when it is unusable. */
async function readIterate(ctx: SandboxContext, call: CallInfo): Promise<IterateRequest | undefined> {
  let fields: Record<string, unknown>;
  try {
    fields = (await parseBody(ctx.get('content-type') || undefined, await readRawBody(ctx.req, BODY_LIMIT)))
      .fields;
  } catch (err) {
    if (!(err instanceof BodyError)) throw err;
    ctx.status = err.status;
    ctx.body = {
      success: false,
      error: err.status === 413 ? 'request entity too large' : `Invalid request body: ${err.message}`,
    };
    return undefined;
  }
  call.body = fields;
  const prompt = fields.prompt;
  if (typeof prompt !== 'string' || prompt.trim() === '') {
    ctx.status = 400;
    ctx.body = { success: false, error: 'prompt is required' };
    return undefined;
  }
  const max = Number(fields.maxIterations ?? fields.max_iterations);
  return {
    requestId: text(fields.id)?.trim() || generatedId(),
    prompt,
    repository: text(fields.repository) ?? '',
    branchName: text(fields.branchName ?? fields.branch_name),
    maxIterations: Number.isSafeInteger(max) && max > 0 ? max : 5,
    callbackUrl: text(fields.callbackUrl ?? fields.callback_url),
  };
}

/**
 * The cursor-runner stand-in (seed-contract §2.2–2.5): health, the async iterate that acks at
 * once and calls back later, and the synchronous iterate.
 */
export function cursorRunnerRoutes(state: SandboxState): Router<SandboxCtxState> {
  const router = new Router<SandboxCtxState>();

  router.get('/health', async function cursorRunnerHealth(ctx) {
    if (await applyFaults(ctx, state, { service: 'cursor-runner', method: 'health' })) return;
    ctx.body = { status: 'ok', service: 'cursor-runner' };
  });

  router.post('/cursor/iterate/async', async function iterateAsync(ctx) {
    const req = await acceptIterate(ctx, state, 'iterate-async');
    if (!req) return;
    const startedAt = Date.now();
    ctx.body = {
      success: true,
      message: 'Request accepted, processing asynchronously',
      requestId: req.requestId,
      timestamp: new Date().toISOString(),
    };
    if (isSilentPrompt(req.prompt)) return;
    const target = req.callbackUrl ?? state.options.defaultCallbackUrl;
    if (target === undefined) {
      state.options.logger.warn(
        { requestId: req.requestId },
        'no callbackUrl and no default: result not delivered',
      );
      return;
    }
    state.background(async () => {
      const full = await state.sleep(promptDelayMs(req.prompt) ?? state.options.cursorDelayMs);
      if (!full) return; // the sandbox is closing
      await deliverCallback(state, target, resultBody(req, runPrompt(req.prompt), startedAt));
    });
  });

  router.post('/cursor/iterate', async function iterate(ctx) {
    const req = await acceptIterate(ctx, state, 'iterate');
    if (!req) return;
    const startedAt = Date.now();
    await state.sleep(promptDelayMs(req.prompt) ?? state.options.cursorDelayMs);
    const outcome = runPrompt(req.prompt);
    const body = resultBody(req, outcome, startedAt);
    ctx.status = outcome.success ? 200 : 422;
    ctx.body = body;
    // The synchronous variant calls back only when asked to.
    if (req.callbackUrl !== undefined) {
      const target = req.callbackUrl;
      state.background(async () => await deliverCallback(state, target, body));
    }
  });

  return router;
}
