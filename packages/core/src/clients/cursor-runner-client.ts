import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { ApiRejectedError } from '../errors/api-rejected-error.ts';
import { SecretRedactor } from '../redact.ts';
import { cursorRunnerRejection, parseJson, type CallContext } from './classify-error.ts';
import { httpCall } from './http-call.ts';

/** Options of {@link CursorRunnerClient}. */
export interface CursorRunnerClientOptions {
  /** cursor-runner base URL (`CURSOR_RUNNER_URL`), without a trailing slash. */
  baseUrl: string;
  /** The process's shared agent ({@link createHttpAgent}). */
  agent: Dispatcher;
  /**
   * Deadline for cursor-runner to acknowledge a prompt, in ms (`CURSOR_RUNNER_TIMEOUT` × 1000).
   * @defaultValue 30000
   */
  timeoutMs?: number;
  /**
   * `WEBHOOK_SECRET` (secret): appended to the callback URL as `?secret=` (cursor-runner strips it
   * and sends it back in `X-Webhook-Secret` / `X-Cursor-Runner-Secret`) and sent as the
   * `X-Webhook-Secret` header (newer cursor-runner requires it). Unset: neither is sent.
   */
  webhookSecret?: string | undefined;
  /** Gets a debug line per call; never the callback URL or the secret. */
  logger?: Logger | undefined;
}

/** What {@link CursorRunnerClient.iterateAsync} sends. */
export interface IterateAsyncParams {
  /** Our request id (`telegram-<unix>-<8hex>`); cursor-runner echoes it in the callback. */
  id: string;
  prompt: string;
  /** Where cursor-runner POSTs the result (the gateway's `/cursor-runner/callback`). */
  callbackUrl: string;
  /** @defaultValue '' (the repositories root) */
  repository?: string;
  /** @defaultValue 'main' */
  branchName?: string;
  /** @defaultValue 25 */
  maxIterations?: number;
  conversationId?: string;
}

const SERVICE = 'cursor-runner';
const METHOD = 'iterateAsync';

/**
 * cursor-runner client: hands a prompt over to `POST /cursor/iterate/async`, which answers at
 * once and later calls back. Never retried here: a prompt is not idempotent, so the caller
 * decides ({@link UpstreamUnreachableError.safeToRetry} says when a retry cannot duplicate it).
 */
export class CursorRunnerClient {
  readonly #url: URL;
  readonly #agent: Dispatcher;
  readonly #timeoutMs: number;
  readonly #secret: string | undefined;
  readonly #logger: Logger | undefined;
  readonly #ctx: CallContext;
  /** Sent with every call; never changed (httpCall hands it to undici as is). */
  readonly #headers: Readonly<Record<string, string>>;
  #lastCallback: { raw: string; href: string } | undefined;

  constructor(opts: CursorRunnerClientOptions) {
    try {
      this.#url = new URL(`${opts.baseUrl.replace(/\/+$/, '')}/cursor/iterate/async`);
    } catch {
      throw new TypeError('CursorRunnerClient baseUrl must be an absolute http(s) URL (CURSOR_RUNNER_URL)');
    }
    this.#agent = opts.agent;
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#secret = opts.webhookSecret === '' ? undefined : opts.webhookSecret;
    this.#logger = opts.logger;
    this.#ctx = { service: SERVICE, method: METHOD, redactor: new SecretRedactor([this.#secret]) };
    this.#headers = Object.freeze({
      'content-type': 'application/json',
      accept: 'application/json',
      ...(this.#secret === undefined ? {} : { 'x-webhook-secret': this.#secret }),
    });
  }

  /**
   * The callback URL with `?secret=` attached. Every call of a process passes the same URL, so the
   * last one is kept instead of being parsed again per prompt.
   */
  #callbackHref(raw: string): string {
    const last = this.#lastCallback;
    if (last !== undefined && last.raw === raw) return last.href;
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new TypeError('iterateAsync: callbackUrl must be an absolute http(s) URL');
    }
    if (this.#secret !== undefined) url.searchParams.set('secret', this.#secret);
    this.#lastCallback = { raw, href: url.href };
    return url.href;
  }

  /**
   * Submit a prompt. Resolves with cursor-runner's acknowledgement; throws
   * {@link UpstreamUnreachableError} (`connect` / `timeout` / `reset`) or {@link ApiRejectedError}
   * carrying cursor-runner's `error` text (e.g. 400 "prompt is required").
   */
  async iterateAsync(p: IterateAsyncParams): Promise<{ requestId: string; message: string }> {
    const callbackUrl = this.#callbackHref(p.callbackUrl);
    const body = {
      id: p.id,
      prompt: p.prompt,
      repository: p.repository ?? '',
      branchName: p.branchName ?? 'main',
      maxIterations: p.maxIterations ?? 25,
      callbackUrl,
      ...(p.conversationId !== undefined ? { conversationId: p.conversationId } : {}),
    };
    const headers = this.#headers;
    const res = await httpCall({
      agent: this.#agent,
      url: this.#url,
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      timeoutMs: this.#timeoutMs,
      maxBodyBytes: 1_048_576,
      tooLarge: ({ status }) =>
        new ApiRejectedError({
          service: SERVICE,
          method: METHOD,
          status,
          description: 'answer too large',
          ambiguous: true,
        }),
      ctx: this.#ctx,
      logger: this.#logger,
    });
    const json = parseJson(res.body) as
      { success?: unknown; requestId?: unknown; message?: unknown } | undefined;
    if (
      res.status >= 200 &&
      res.status < 300 &&
      !(typeof json === 'object' && json !== null && json.success === false)
    ) {
      return {
        requestId: typeof json?.requestId === 'string' ? json.requestId : p.id,
        message: typeof json?.message === 'string' ? json.message : '',
      };
    }
    throw cursorRunnerRejection(res, this.#ctx);
  }
}
