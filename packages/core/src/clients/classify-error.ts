import type { IncomingHttpHeaders } from 'node:http';
import { ApiRejectedError } from '../errors/api-rejected-error.ts';
import { UpstreamUnreachableError } from '../errors/upstream-unreachable-error.ts';
import type { SecretRedactor } from '../redact.ts';

/**
 * The one place where failures of outbound calls become typed errors:
 * - no answer (network, timeouts) → {@link UpstreamUnreachableError} with the phase the call reached;
 * - an answer that says no → {@link ApiRejectedError}, `ambiguous` unless it was the service's own
 *   JSON error envelope.
 * Messages are built from the service and method names only; anything taken from the wire or from
 * a low-level error passes through the caller's redactor first, so a token never leaks.
 */

/** Who made the call, for error texts. `method` is a name ('sendMessage'), never a URL. */
export interface CallContext {
  service: string;
  method: string;
  redactor: SecretRedactor;
}

// A failure before the request was written: it cannot have had an effect.
const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  // The agent was closed: nothing was sent.
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
]);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_ABORTED']);
// Our own mistakes, not the network's: surfaced as they are.
const PROGRAMMING_CODES = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED', 'ERR_INVALID_ARG_TYPE']);

interface ErrorFacts {
  codes: string[];
  syscalls: string[];
  names: string[];
}

/** Codes, syscalls and names of an error, its `cause` chain and an AggregateError's members. */
function factsOf(
  err: unknown,
  facts: ErrorFacts = { codes: [], syscalls: [], names: [] },
  depth = 0,
): ErrorFacts {
  if (depth > 5 || typeof err !== 'object' || err === null) return facts;
  const e = err as { code?: unknown; syscall?: unknown; name?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string') facts.codes.push(e.code);
  if (typeof e.syscall === 'string') facts.syscalls.push(e.syscall);
  if (typeof e.name === 'string') facts.names.push(e.name);
  if (Array.isArray(e.errors)) for (const inner of e.errors) factsOf(inner, facts, depth + 1);
  if (e.cause !== undefined) factsOf(e.cause, facts, depth + 1);
  return facts;
}

/** A copy of a low-level error with the message scrubbed, kept as `cause` for diagnosis. */
function scrubbedCause(err: unknown, redactor: SecretRedactor): Error {
  const facts = factsOf(err);
  const message = err instanceof Error ? err.message : String(err);
  const copy = new Error(redactor.redact(message));
  copy.name = err instanceof Error ? err.name : 'Error';
  if (facts.codes[0] !== undefined) Object.assign(copy, { code: facts.codes[0] });
  // The stack would point into undici, not at our call; the message and code carry what matters.
  copy.stack = `${copy.name}: ${copy.message}`;
  return copy;
}

/** The errors this module produces; they pass through {@link classifyCallError} unchanged. */
function isTyped(err: unknown): boolean {
  return err instanceof ApiRejectedError || err instanceof UpstreamUnreachableError;
}

/**
 * Map whatever an undici call threw to a typed error. `deadlineHit` is true when our own deadline
 * aborted the call (reported as a `timeout`). Errors that are not network errors (bugs, typed
 * errors thrown by the client itself) are returned unchanged.
 */
export function classifyCallError(err: unknown, ctx: CallContext, deadlineHit = false): Error {
  if (isTyped(err)) return err as Error;
  const { service, method } = ctx;
  if (deadlineHit) {
    return new UpstreamUnreachableError({
      service,
      method,
      phase: 'timeout',
      cause: scrubbedCause(err, ctx.redactor),
    });
  }
  const facts = factsOf(err);
  if (facts.codes.some(c => PROGRAMMING_CODES.has(c))) {
    return err instanceof Error ? err : new Error(String(err));
  }
  let phase: 'connect' | 'timeout' | 'reset' | undefined;
  if (
    facts.codes.some(c => CONNECT_CODES.has(c)) ||
    facts.syscalls.some(s => s === 'connect' || s === 'getaddrinfo')
  ) {
    phase = 'connect';
  } else if (
    facts.codes.some(c => TIMEOUT_CODES.has(c)) ||
    facts.names.some(n => n === 'AbortError' || n === 'TimeoutError')
  ) {
    phase = 'timeout';
  } else if (facts.codes.some(c => c.startsWith('UND_ERR_') || /^E[A-Z]+$/.test(c))) {
    // ECONNRESET, EPIPE, UND_ERR_SOCKET ("other side closed"), parser errors: the connection was
    // up, so the request may have been received.
    phase = 'reset';
  }
  if (phase === undefined) return err instanceof Error ? err : new Error(String(err));
  return new UpstreamUnreachableError({ service, method, phase, cause: scrubbedCause(err, ctx.redactor) });
}

/** A response as the clients read it: status, headers and the (bounded) body bytes. */
export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Uint8Array;
}

const MAX_DESCRIPTION = 500;

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `Retry-After` as seconds (delta-seconds or an HTTP date); undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  // An HTTP date has a weekday and month name; Date.parse alone would take "-5" as a year.
  const at = /[A-Za-z]/.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** The body as JSON, or undefined when it is not JSON. */
export function parseJson(body: Uint8Array): unknown {
  if (body.byteLength === 0) return undefined;
  try {
    return JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function cleanText(text: string, redactor: SecretRedactor): string {
  const t = redactor.redact(text).replace(/\s+/g, ' ').trim();
  return t.length > MAX_DESCRIPTION ? `${t.slice(0, MAX_DESCRIPTION)}…` : t;
}

/**
 * An answer that is not the service's own error envelope (a proxy's HTML page, garbage): ambiguous,
 * and none of its body is kept, since a proxy's error page may echo the request URL (and the token).
 */
function unparsedAnswer(
  res: RawResponse,
  ctx: CallContext,
  retryAfter: number | undefined,
): ApiRejectedError {
  const contentType = headerValue(res.headers, 'content-type');
  return new ApiRejectedError({
    service: ctx.service,
    method: ctx.method,
    status: res.status,
    description: `unexpected answer (HTTP ${res.status}${contentType ? `, ${contentType.split(';')[0]}` : ''})`,
    retryAfter,
    ambiguous: true,
  });
}

/**
 * A Bot API answer that is not `{ok: true}`. Only Telegram's own `{"ok":false,...}` envelope is
 * unambiguous; anything else (an HTML 502 from a proxy, garbage with a 200) may hide a call that
 * took effect.
 */
export function telegramRejection(res: RawResponse, ctx: CallContext): ApiRejectedError {
  const json = parseJson(res.body);
  const headerRetry = parseRetryAfter(headerValue(res.headers, 'retry-after'));
  if (isRecord(json) && json.ok === false) {
    const params = isRecord(json.parameters) ? json.parameters : {};
    const retryAfter = typeof params.retry_after === 'number' ? params.retry_after : headerRetry;
    const status = typeof json.error_code === 'number' ? json.error_code : res.status;
    return new ApiRejectedError({
      service: ctx.service,
      method: ctx.method,
      status,
      description:
        typeof json.description === 'string'
          ? cleanText(json.description, ctx.redactor)
          : `HTTP ${res.status}`,
      retryAfter,
      code:
        typeof params.migrate_to_chat_id === 'number'
          ? `migrate_to_chat_id:${params.migrate_to_chat_id}`
          : undefined,
    });
  }
  return unparsedAnswer(res, ctx, headerRetry);
}

/**
 * An ElevenLabs error. Its text comes from `detail.message`, `detail[].msg`, `detail`, `error` or
 * `message`; its `code` from `detail.status` (older `too_many_concurrent_requests` /
 * `system_busy`) or the newer `code` field (`concurrent_limit_exceeded`, `rate_limit_exceeded`).
 */
export function elevenLabsRejection(res: RawResponse, ctx: CallContext): ApiRejectedError {
  const json = parseJson(res.body);
  const retryAfter = parseRetryAfter(headerValue(res.headers, 'retry-after'));
  if (!isRecord(json)) return unparsedAnswer(res, ctx, retryAfter);
  let description: string | undefined;
  let code: string | undefined;
  const { detail } = json;
  const error = json.error;
  if (isRecord(detail)) {
    if (typeof detail.message === 'string') description = detail.message;
    if (typeof detail.status === 'string') code = detail.status;
    else if (typeof detail.code === 'string') code = detail.code;
  } else if (Array.isArray(detail)) {
    const msgs = detail.flatMap(d => (isRecord(d) && typeof d.msg === 'string' ? [d.msg] : []));
    if (msgs.length > 0) description = msgs.join('; ');
  } else if (typeof detail === 'string') {
    description = detail;
  }
  if (description === undefined && typeof error === 'string') description = error;
  if (isRecord(error)) {
    if (description === undefined && typeof error.message === 'string') description = error.message;
    if (code === undefined && typeof error.code === 'string') code = error.code;
  }
  if (description === undefined && typeof json.message === 'string') description = json.message;
  if (code === undefined && typeof json.code === 'string') code = json.code;
  return new ApiRejectedError({
    service: ctx.service,
    method: ctx.method,
    status: res.status,
    description: description !== undefined ? cleanText(description, ctx.redactor) : `HTTP ${res.status}`,
    retryAfter,
    code,
  });
}

/** A cursor-runner error: `{"success":false,"error":"prompt is required"}`. */
export function cursorRunnerRejection(res: RawResponse, ctx: CallContext): ApiRejectedError {
  const json = parseJson(res.body);
  const retryAfter = parseRetryAfter(headerValue(res.headers, 'retry-after'));
  if (isRecord(json) && (typeof json.error === 'string' || typeof json.message === 'string')) {
    const text = typeof json.error === 'string' ? json.error : String(json.message);
    return new ApiRejectedError({
      service: ctx.service,
      method: ctx.method,
      status: res.status,
      description: cleanText(text, ctx.redactor),
      retryAfter,
    });
  }
  return unparsedAnswer(res, ctx, retryAfter);
}
