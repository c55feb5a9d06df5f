import { Router } from '@koa/router';
import { BodyError, parseBody, readRawBody } from '../body.ts';
import type { SandboxContext, SandboxCtxState } from '../context.ts';
import type { SandboxState } from '../sandbox-state.ts';
import { SANDBOX_SERVICES, type CallFilter, type SandboxService } from '../types.ts';
import { InvalidControlError, validateFaultRule, validateFileRegistration } from './validate.ts';

const BODY_LIMIT = 64 * 1024;

function badRequest(ctx: SandboxContext, message: string): void {
  ctx.status = 400;
  ctx.body = { error: message };
}

async function jsonBody(ctx: SandboxContext): Promise<unknown> {
  const raw = await readRawBody(ctx.req, BODY_LIMIT);
  if (raw.length === 0) throw new BodyError(400, 'a JSON body is required');
  const type = ctx.get('content-type');
  if (type !== '' && !/^application\/json\b/i.test(type)) {
    throw new BodyError(415, 'the body must be application/json');
  }
  return (await parseBody('application/json', raw)).fields;
}

/** Run `fn`, turning bad input into a 400/413/415 with a message that says what is wrong. */
async function withInput(ctx: SandboxContext, fn: (input: unknown) => void): Promise<void> {
  try {
    fn(await jsonBody(ctx));
  } catch (err) {
    if (err instanceof BodyError) {
      ctx.status = err.status;
      ctx.body = { error: err.message };
    } else if (err instanceof InvalidControlError) {
      badRequest(ctx, err.message);
    } else {
      throw err;
    }
  }
}

/** `/sandbox/*`: the same control as the in-process API, for other processes and k6. Not recorded. */
export function controlRoutes(state: SandboxState, onReset: () => void): Router<SandboxCtxState> {
  const router = new Router<SandboxCtxState>({ prefix: '/sandbox' });

  router.get('/health', function sandboxHealth(ctx) {
    ctx.body = {
      status: 'ok',
      service: 'sandbox',
      calls: state.callCount,
      heldRequests: state.heldRequests,
    };
  });

  router.get('/calls', function listCalls(ctx) {
    const filter: CallFilter = {};
    const { service, method, chat_id: chatId, recorded_after: after } = ctx.query;
    if (service !== undefined) {
      if (typeof service !== 'string' || !SANDBOX_SERVICES.includes(service as SandboxService)) {
        return badRequest(ctx, `service must be one of ${SANDBOX_SERVICES.join(', ')}`);
      }
      filter.service = service as SandboxService;
    }
    if (method !== undefined) {
      if (typeof method !== 'string' || method.length === 0 || method.length > 64) {
        return badRequest(ctx, 'method must be a string of 1 to 64 characters');
      }
      filter.method = method;
    }
    if (chatId !== undefined) {
      if (typeof chatId !== 'string' || !/^-?\d{1,16}$/.test(chatId)) {
        return badRequest(ctx, 'chat_id must be an integer');
      }
      filter.chatId = Number(chatId);
    }
    if (after !== undefined) {
      if (typeof after !== 'string' || !/^\d{1,15}$/.test(after)) {
        return badRequest(ctx, 'recorded_after must be a non-negative integer (a `recorded` count)');
      }
      filter.recordedAfter = Number(after);
    }
    ctx.type = 'application/json';
    ctx.body = state.callsJson(filter);
  });

  router.delete('/calls', function clearCalls(ctx) {
    state.clearCalls();
    ctx.status = 204;
  });

  router.post('/faults', async function addFault(ctx) {
    await withInput(ctx, input => {
      const rule = validateFaultRule(input);
      state.addFault(rule);
      ctx.status = 201;
      ctx.body = { fault: rule };
    });
  });

  router.delete('/faults', function clearFaults(ctx) {
    state.clearFaults();
    ctx.status = 204;
  });

  router.post('/files', async function registerFile(ctx) {
    await withInput(ctx, input => {
      const file = state.registerFile(validateFileRegistration(input));
      ctx.status = 201;
      ctx.body = {
        file: {
          fileId: file.fileId,
          filePath: file.filePath,
          sizeBytes: file.sizeBytes,
          mimeType: file.mimeType,
        },
      };
    });
  });

  router.post('/reset', function resetSandbox(ctx) {
    onReset();
    ctx.status = 204;
  });

  return router;
}
