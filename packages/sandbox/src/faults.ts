import { STATUS_CODES } from 'node:http';
import type { SandboxContext, CallInfo } from './context.ts';
import type { SandboxState } from './sandbox-state.ts';
import type { FaultRule, SandboxService } from './types.ts';

const DEFAULT_TIMEOUT_MS = 120_000;

/**
 * Apply the fault rules that match this call: wait out any latency, then answer instead of the
 * service (status / html) or never answer (timeout, reset). Returns true when the call is handled
 * and the service must not run.
 */
export async function applyFaults(
  ctx: SandboxContext,
  state: SandboxState,
  call: CallInfo,
): Promise<boolean> {
  ctx.state.call = call;
  const decision = state.takeFaults(call.service, call.method, call.chatId);
  if (decision.latencyMs > 0) await state.sleep(decision.latencyMs);
  const rule = decision.terminal;
  if (rule === undefined) return false;
  switch (rule.type) {
    case 'status':
      answerStatus(ctx, call.service, rule);
      return true;
    case 'html':
      ctx.status = rule.status;
      ctx.type = 'text/html';
      ctx.set('Server', 'nginx');
      ctx.body = nginxPage(rule.status);
      return true;
    case 'timeout': {
      // Accept and hold the request without a word, until the client gives up or the time runs out.
      const socket = ctx.req.socket;
      state.heldRequests++;
      try {
        await state.sleep(rule.ms ?? DEFAULT_TIMEOUT_MS, wake => {
          socket.once('close', wake);
          return () => socket.off('close', wake);
        });
      } finally {
        state.heldRequests--;
      }
      drop(ctx, call);
      return true;
    }
    case 'reset':
      drop(ctx, call);
      return true;
  }
}

function drop(ctx: SandboxContext, call: CallInfo): void {
  call.dropped = true;
  ctx.respond = false;
  ctx.req.socket.destroy();
}

function answerStatus(
  ctx: SandboxContext,
  service: SandboxService,
  rule: Extract<FaultRule, { type: 'status' }>,
) {
  const reason = STATUS_CODES[rule.status] ?? 'Error';
  const retryAfter = rule.retryAfter ?? (rule.status === 429 ? 1 : undefined);
  if (retryAfter !== undefined) ctx.set('Retry-After', String(retryAfter));
  ctx.status = rule.status;
  if (service === 'telegram') {
    ctx.body = telegramError(rule.status, rule.description, retryAfter);
  } else if (service === 'cursor-runner') {
    ctx.body = { success: false, error: rule.description ?? reason, timestamp: new Date().toISOString() };
  } else {
    ctx.body = elevenLabsError(rule.status, rule.code, rule.description);
  }
}

/** The Bot API error envelope; 429 exactly as Telegram sends it. */
export function telegramError(status: number, description?: string, retryAfter?: number) {
  if (status === 429) {
    const n = retryAfter ?? 1;
    return {
      ok: false,
      error_code: 429,
      description: description ?? `Too Many Requests: retry after ${n}`,
      parameters: { retry_after: n },
    };
  }
  return {
    ok: false,
    error_code: status,
    description: description ?? TELEGRAM_DESCRIPTIONS[status] ?? STATUS_CODES[status] ?? 'Error',
  };
}

const TELEGRAM_DESCRIPTIONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden: bot was blocked by the user',
  404: 'Not Found',
  409: 'Conflict',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
};

const ELEVENLABS_MESSAGES: Record<string, string> = {
  too_many_concurrent_requests:
    'Too many concurrent requests: your plan allows fewer requests in flight at once. Wait for one to finish.',
  system_busy:
    'Our services are experiencing high levels of traffic and your request could not be processed.',
  invalid_api_key: 'Invalid API key',
};

/** ElevenLabs' `{"detail":{"status","message"}}` error body. */
export function elevenLabsError(status: number, code?: string, message?: string) {
  const detail =
    code ??
    (status === 429 ? 'too_many_concurrent_requests' : status === 401 ? 'invalid_api_key' : 'internal_error');
  return {
    detail: {
      status: detail,
      message: message ?? ELEVENLABS_MESSAGES[detail] ?? STATUS_CODES[status] ?? 'Error',
    },
  };
}

/** The page an nginx in front of a service shows when the upstream fails. */
export function nginxPage(status: number): string {
  const title = `${status} ${STATUS_CODES[status] ?? 'Error'}`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
}
