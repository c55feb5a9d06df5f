import type { RetryPolicy } from 'cockatiel';
import type { Logger } from 'pino';
import { FormData, type Dispatcher } from 'undici';
import { ApiRejectedError } from '../errors/api-rejected-error.ts';
import { SecretRedactor } from '../redact.ts';
import type { TelegramFile, TelegramMessage, TelegramUser, TelegramWebhookInfo } from '../telegram-types.ts';
import { parseJson, telegramRejection, type CallContext, type RawResponse } from './classify-error.ts';
import { FileTooLargeError } from './file-too-large-error.ts';
import { httpCall } from './http-call.ts';
import { createRetryPolicy, type CallKind } from './retry-policy.ts';

/** A file to upload (voice, audio, document). */
export interface InputFile {
  data: Uint8Array;
  filename: string;
  contentType: string;
}

export type ChatId = number | string;
export type ParseMode = 'HTML' | 'MarkdownV2' | 'Markdown';

/** Options of {@link TelegramClient}. */
export interface TelegramClientOptions {
  /** Bot API token (secret). Only ever placed in request URLs, never in errors or logs. */
  token: string;
  /** Bot API base URL (`TELEGRAM_API_URL`), without a trailing slash. */
  baseUrl: string;
  /** The process's shared agent ({@link createHttpAgent}). */
  agent: Dispatcher;
  /**
   * Deadline of one Bot API call (one attempt), in ms.
   * @defaultValue 30000
   */
  timeoutMs?: number;
  /**
   * Deadline of one file download attempt, in ms (20 MB over a slow link takes a while).
   * @defaultValue 120000
   */
  downloadTimeoutMs?: number;
  /**
   * Attempts per call, the first included. Sends (sendMessage, sendVoice, sendAudio, sendDocument)
   * are only repeated when the failed attempt certainly had no effect.
   * @defaultValue 3
   */
  maxAttempts?: number;
  /**
   * Longest `retry_after` waited for inside a call; a longer one is thrown as
   * {@link ApiRejectedError} with `retryAfter` so the job can be delayed.
   * @defaultValue 5
   */
  maxInlineRetryAfterSeconds?: number;
  /**
   * First backoff delay when Telegram gave no `retry_after`, in ms.
   * @defaultValue 250
   */
  initialDelayMs?: number;
  /**
   * Longest backoff delay when Telegram gave no `retry_after`, in ms.
   * @defaultValue 5000
   */
  maxDelayMs?: number;
  /**
   * Largest JSON answer read from a method call (bigger answers are refused, not buffered).
   * @defaultValue 1048576
   */
  maxResponseBytes?: number;
  /** Gets debug lines per call and warn lines per retry; never URLs or the token. */
  logger?: Logger | undefined;
}

/** Telegram's download limit for bots: 20 MB. */
export const TELEGRAM_MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024;

const SERVICE = 'telegram';

type Params = Record<string, unknown>;

/** Bot API client over the shared undici agent: JSON calls, multipart uploads, streamed downloads. */
export class TelegramClient {
  readonly #token: string;
  readonly #base: string;
  readonly #agent: Dispatcher;
  readonly #timeoutMs: number;
  readonly #downloadTimeoutMs: number;
  readonly #maxResponseBytes: number;
  readonly #logger: Logger | undefined;
  readonly #redactor: SecretRedactor;
  readonly #policies: Record<CallKind, RetryPolicy>;

  constructor(opts: TelegramClientOptions) {
    if (typeof opts.token !== 'string' || opts.token.length === 0) {
      throw new TypeError('TelegramClient needs a bot token (TELEGRAM_BOT_TOKEN or the bots file)');
    }
    let base: URL;
    try {
      base = new URL(opts.baseUrl);
    } catch {
      throw new TypeError('TelegramClient baseUrl must be an absolute http(s) URL (TELEGRAM_API_URL)');
    }
    this.#token = opts.token;
    this.#base = base.href.replace(/\/+$/, '');
    this.#agent = opts.agent;
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#downloadTimeoutMs = opts.downloadTimeoutMs ?? 120_000;
    this.#maxResponseBytes = opts.maxResponseBytes ?? 1_048_576;
    this.#logger = opts.logger;
    this.#redactor = new SecretRedactor([opts.token]);
    // opts carries the RetryOptions fields; createRetryPolicy fills in the defaults.
    this.#policies = {
      idempotent: createRetryPolicy('idempotent', opts, { logger: opts.logger }),
      'effect-once': createRetryPolicy('effect-once', opts, { logger: opts.logger }),
    };
  }

  getMe(): Promise<TelegramUser> {
    return this.#call('getMe', {}, 'idempotent');
  }

  sendMessage(p: {
    chat_id: ChatId;
    text: string;
    parse_mode?: ParseMode;
    reply_to_message_id?: number;
    disable_notification?: boolean;
  }): Promise<TelegramMessage> {
    return this.#call('sendMessage', p, 'effect-once');
  }

  sendChatAction(p: {
    chat_id: ChatId;
    action: 'typing' | 'record_voice' | 'upload_voice' | 'upload_document';
  }): Promise<true> {
    return this.#call('sendChatAction', p, 'idempotent');
  }

  sendVoice(p: {
    chat_id: ChatId;
    voice: InputFile;
    caption?: string;
    parse_mode?: ParseMode;
    reply_to_message_id?: number;
    duration?: number;
  }): Promise<TelegramMessage> {
    return this.#call('sendVoice', p, 'effect-once');
  }

  sendAudio(p: {
    chat_id: ChatId;
    audio: InputFile;
    caption?: string;
    parse_mode?: ParseMode;
    reply_to_message_id?: number;
  }): Promise<TelegramMessage> {
    return this.#call('sendAudio', p, 'effect-once');
  }

  sendDocument(p: {
    chat_id: ChatId;
    document: InputFile;
    caption?: string;
    parse_mode?: ParseMode;
    reply_to_message_id?: number;
  }): Promise<TelegramMessage> {
    return this.#call('sendDocument', p, 'effect-once');
  }

  getFile(fileId: string): Promise<TelegramFile> {
    return this.#call('getFile', { file_id: fileId }, 'idempotent');
  }

  /**
   * Download a file `getFile` pointed at, streamed and bounded: it stops as soon as the declared
   * `Content-Length` or the bytes read exceed `maxBytes` and throws {@link FileTooLargeError}.
   */
  async downloadFile(filePath: string, opts: { maxBytes?: number } = {}): Promise<Uint8Array> {
    const maxBytes = opts.maxBytes ?? TELEGRAM_MAX_DOWNLOAD_BYTES;
    const url = this.#url(`file/bot${this.#token}/${safeFilePath(filePath)}`);
    const ctx = this.#ctx('downloadFile');
    return this.#policies.idempotent.execute(async () => {
      const res = await httpCall({
        agent: this.#agent,
        url,
        method: 'GET',
        timeoutMs: this.#downloadTimeoutMs,
        maxBodyBytes: maxBytes,
        tooLarge: ({ status, declaredBytes }) =>
          status >= 200 && status < 300
            ? new FileTooLargeError({ method: 'downloadFile', maxBytes, declaredBytes })
            : new ApiRejectedError({
                service: SERVICE,
                method: 'downloadFile',
                status,
                description: 'error answer too large',
                ambiguous: true,
              }),
        ctx,
        logger: this.#logger,
      });
      if (res.status >= 200 && res.status < 300) return res.body;
      throw telegramRejection(res, ctx);
    });
  }

  answerCallbackQuery(p: { callback_query_id: string; text?: string; show_alert?: boolean }): Promise<true> {
    return this.#call('answerCallbackQuery', p, 'idempotent');
  }

  setWebhook(p: {
    url: string;
    secret_token?: string;
    max_connections?: number;
    allowed_updates?: string[];
    drop_pending_updates?: boolean;
  }): Promise<true> {
    return this.#call('setWebhook', p, 'idempotent');
  }

  getWebhookInfo(): Promise<TelegramWebhookInfo> {
    return this.#call('getWebhookInfo', {}, 'idempotent');
  }

  deleteWebhook(p: { drop_pending_updates?: boolean } = {}): Promise<true> {
    return this.#call('deleteWebhook', p, 'idempotent');
  }

  #ctx(method: string): CallContext {
    return { service: SERVICE, method, redactor: this.#redactor };
  }

  #url(path: string): URL {
    try {
      return new URL(`${this.#base}/${path}`);
    } catch {
      // URL's own TypeError keeps the input (and with it the token) in `err.input`.
      throw new TypeError('TelegramClient: cannot build the Bot API URL (check the token format)');
    }
  }

  async #call<T>(method: string, params: Params, kind: CallKind): Promise<T> {
    const url = this.#url(`bot${this.#token}/${method}`);
    const ctx = this.#ctx(method);
    const multipart = Object.values(params).some(isInputFile);
    return this.#policies[kind].execute(async () => {
      const res = await httpCall({
        agent: this.#agent,
        url,
        method: 'POST',
        // A FormData is built per attempt: a body stream cannot be sent twice.
        ...(multipart
          ? { body: toFormData(params) }
          : { body: JSON.stringify(params), headers: { 'content-type': 'application/json' } }),
        timeoutMs: this.#timeoutMs,
        maxBodyBytes: this.#maxResponseBytes,
        tooLarge: ({ status }) =>
          new ApiRejectedError({
            service: SERVICE,
            method,
            status,
            description: `answer larger than ${this.#maxResponseBytes} bytes`,
            ambiguous: true,
          }),
        ctx,
        logger: this.#logger,
      });
      return unwrap<T>(res, ctx);
    });
  }
}

function unwrap<T>(res: RawResponse, ctx: CallContext): T {
  if (res.status >= 200 && res.status < 300) {
    const json = parseJson(res.body) as { ok?: unknown; result?: unknown } | undefined;
    if (typeof json === 'object' && json !== null && json.ok === true && 'result' in json) {
      return json.result as T;
    }
  }
  throw telegramRejection(res, ctx);
}

function isInputFile(v: unknown): v is InputFile {
  return typeof v === 'object' && v !== null && (v as { data?: unknown }).data instanceof Uint8Array;
}

function toFormData(params: Params): FormData {
  const form = new FormData();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null) continue;
    if (isInputFile(value)) {
      form.append(
        key,
        new Blob([value.data as Uint8Array<ArrayBuffer>], { type: value.contentType }),
        value.filename,
      );
    } else {
      form.append(key, typeof value === 'object' ? JSON.stringify(value) : String(value));
    }
  }
  return form;
}

/**
 * `file_path` comes from Telegram, but it lands in a URL next to the token: refuse anything that
 * could climb out of `/file/bot<token>/` or change the query.
 */
function safeFilePath(filePath: string): string {
  const segments = filePath.split('/');
  if (
    filePath.length === 0 ||
    filePath.length > 1024 ||
    filePath.startsWith('/') ||
    segments.some(s => s === '' || s === '.' || s === '..')
  ) {
    throw new TypeError('downloadFile: file_path must be a relative path as returned by getFile');
  }
  return segments.map(s => encodeURIComponent(s)).join('/');
}
