import { Readable } from 'node:stream';
import type { Next } from 'koa';
import { opusVoiceOfSize, TRANSCRIPT_TAG } from '../audio/opus.ts';
import { BodyError, parseBody, readRawBody, recordedBody } from '../body.ts';
import type { CallInfo, SandboxContext } from '../context.ts';
import { applyFaults, telegramError } from '../faults.ts';
import type { SandboxState, StoredFile } from '../sandbox-state.ts';
import { METHODS } from './methods.ts';
import { BotApiError, chatIdForRecord, type Params } from './params.ts';

const METHOD_PATH = /^\/bot([^/]*)\/([^/]*)\/?$/;
const FILE_PATH = /^\/file\/bot([^/]*)\/(.+)$/;
const TOKEN = /^(\d{1,20}):[A-Za-z0-9_-]{1,200}$/;
/** Uploads up to 50 MB, as Telegram allows, plus room for the multipart framing. */
const BODY_LIMIT = 51 * 1024 * 1024;

function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function reply(ctx: SandboxContext, status: number, body: unknown): void {
  ctx.status = status;
  ctx.body = body;
}

function refuse(ctx: SandboxContext, err: BotApiError): void {
  if (err.code === 429) {
    const retryAfter = Number(err.parameters?.retry_after ?? 1);
    ctx.set('Retry-After', String(retryAfter));
  }
  reply(ctx, err.code, {
    ok: false,
    error_code: err.code,
    description: err.description,
    ...(err.parameters === undefined ? {} : { parameters: err.parameters }),
  });
}

/**
 * The Telegram Bot API stand-in: `/bot<token>/<method>` (GET or POST; JSON, urlencoded or
 * multipart) and `/file/bot<token>/<file_path>`. Any well-formed token is a bot. Tokens sit in
 * these paths, so nothing here logs a path.
 */
export function telegramBotApi(state: SandboxState) {
  return async function telegramBotApi(ctx: SandboxContext, next: Next): Promise<void> {
    const method = METHOD_PATH.exec(ctx.path);
    if (method) return await serveMethod(ctx, state, method[1] ?? '', method[2] ?? '');
    const file = FILE_PATH.exec(ctx.path);
    if (file && (ctx.method === 'GET' || ctx.method === 'HEAD')) {
      return await serveFile(ctx, state, file[1] ?? '', file[2] ?? '');
    }
    await next();
  };
}

async function serveMethod(ctx: SandboxContext, state: SandboxState, rawToken: string, rawMethod: string) {
  const token = decode(rawToken);
  const methodName = decode(rawMethod) ?? rawMethod;
  const botId = token === undefined ? undefined : TOKEN.exec(token)?.[1];
  const known = METHODS.get(methodName.toLowerCase());
  const call: CallInfo = {
    service: 'telegram',
    method: known?.name ?? methodName.slice(0, 64),
    ...(botId === undefined ? {} : { botId }),
  };
  ctx.state.call = call;
  if (botId === undefined) return reply(ctx, 401, telegramError(401, 'Unauthorized'));
  if (!known) return reply(ctx, 404, telegramError(404, 'Not Found'));

  let params: Params;
  try {
    const body = await parseBody(
      ctx.get('content-type') || undefined,
      await readRawBody(ctx.req, BODY_LIMIT),
    );
    call.body = recordedBody(body);
    params = { ...ctx.query, ...body.fields, ...body.files };
  } catch (err) {
    if (!(err instanceof BodyError)) throw err;
    if (err.status === 413) return reply(ctx, 413, telegramError(413, 'Request Entity Too Large'));
    return reply(ctx, 400, telegramError(400, "Bad Request: can't parse JSON object"));
  }
  const chatId = chatIdForRecord(params);
  if (chatId !== undefined) call.chatId = chatId;

  if (await applyFaults(ctx, state, call)) return;
  try {
    const { result, description } = known.handler(state, botId, params);
    reply(ctx, 200, { ok: true, result, ...(description === undefined ? {} : { description }) });
  } catch (err) {
    if (!(err instanceof BotApiError)) throw err;
    refuse(ctx, err);
  }
}

async function serveFile(ctx: SandboxContext, state: SandboxState, rawToken: string, rawPath: string) {
  const token = decode(rawToken);
  const botId = token === undefined ? undefined : TOKEN.exec(token)?.[1];
  const call: CallInfo = {
    service: 'telegram',
    method: 'downloadFile',
    ...(botId === undefined ? {} : { botId }),
  };
  ctx.state.call = call;
  if (botId === undefined) return reply(ctx, 401, telegramError(401, 'Unauthorized'));
  const filePath = decode(rawPath);
  call.body = { file_path: filePath ?? rawPath };
  if (await applyFaults(ctx, state, call)) return;
  const file = filePath === undefined ? undefined : state.fileByPath(filePath);
  if (!file) return reply(ctx, 404, telegramError(404, 'Not Found'));
  ctx.status = 200;
  ctx.type = file.mimeType;
  ctx.length = file.sizeBytes;
  ctx.body = fileStream(file); // Koa sends no body for HEAD
}

/** The bytes of a file at its registered size, streamed (a 21 MB test file is never held whole). */
function fileStream(file: StoredFile): Readable | Buffer {
  if (file.sizeBytes === file.bytes.length) return file.bytes;
  if (file.mimeType === 'audio/ogg') {
    const tags: Record<string, string> =
      file.transcript === undefined ? {} : { [TRANSCRIPT_TAG]: file.transcript };
    return Readable.from(opusVoiceOfSize(file.sizeBytes, { durationMs: 3000, tags }));
  }
  return Readable.from(padded(file.bytes, file.sizeBytes));
}

function* padded(bytes: Buffer, size: number): Generator<Buffer> {
  yield bytes.subarray(0, size);
  const chunk = Buffer.alloc(64 * 1024);
  for (let left = size - bytes.length; left > 0; left -= chunk.length) {
    yield chunk.subarray(0, Math.min(left, chunk.length));
  }
}
