import type { RetryPolicy } from 'cockatiel';
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import { FormData, type Dispatcher } from 'undici';
import { ApiRejectedError } from '../errors/api-rejected-error.ts';
import { SecretRedactor } from '../redact.ts';
import { elevenLabsRejection, parseJson, type CallContext, type RawResponse } from './classify-error.ts';
import { httpCall } from './http-call.ts';
import { createRetryPolicy } from './retry-policy.ts';
import { TranscriptionEmptyError } from './transcription-empty-error.ts';
import { UnexpectedAudioFormatError } from './unexpected-audio-format-error.ts';

/** Options of {@link ElevenLabsClient}. */
export interface ElevenLabsClientOptions {
  /** `ELEVENLABS_API_KEY` (secret), sent as `xi-api-key`. Required: without a key, do not build a client. */
  apiKey: string;
  /** `ELEVENLABS_API_URL`, without a trailing slash. */
  baseUrl: string;
  /** The process's shared agent ({@link createHttpAgent}). */
  agent: Dispatcher;
  /**
   * Deadline of one attempt, in ms.
   * @defaultValue 60000
   */
  timeoutMs?: number;
  /** @defaultValue 'scribe_v1' */
  sttModelId?: string;
  /** @defaultValue 'eleven_turbo_v2_5' */
  ttsModelId?: string;
  /** @defaultValue 'vfaqCOvlrKi4Zp7C2IAm' */
  voiceId?: string;
  /**
   * Attempts per call, the first included (STT and TTS are safe to repeat).
   * @defaultValue 3
   */
  maxAttempts?: number;
  /**
   * Longest `Retry-After` waited for inside a call; a longer one is thrown with `retryAfter`.
   * @defaultValue 5
   */
  maxInlineRetryAfterSeconds?: number;
  /**
   * Wait before retrying a 429 for too many concurrent requests: one of ours finishes soon, so a
   * short fixed wait beats backing off.
   * @defaultValue 1000
   */
  concurrencyRetryDelayMs?: number;
  /**
   * First backoff delay for `system_busy`, other 429s, 5xx and network failures, in ms.
   * @defaultValue 500
   */
  initialDelayMs?: number;
  /**
   * Longest backoff delay, in ms.
   * @defaultValue 8000
   */
  maxDelayMs?: number;
  /**
   * Largest synthesized audio accepted (Telegram uploads stop at 50 MB).
   * @defaultValue 52428800
   */
  maxAudioBytes?: number;
  /** Gets debug lines per call and warn lines per retry; never the key. */
  logger?: Logger | undefined;
}

/** What ElevenLabs last said about our concurrency (response headers), for metrics. */
export interface ElevenLabsConcurrency {
  /** `current-concurrent-requests`. */
  current: number | undefined;
  /** `maximum-concurrent-requests` (the plan's limit). */
  maximum: number | undefined;
}

export type SpeechFormat = 'ogg_opus' | 'mp3';

const SERVICE = 'elevenlabs';
const OUTPUT_FORMAT: Record<SpeechFormat, string> = { ogg_opus: 'opus_48000_64', mp3: 'mp3_44100_128' };
const CONTENT_TYPE: Record<SpeechFormat, string> = { ogg_opus: 'audio/ogg', mp3: 'audio/mpeg' };
/** 429 codes meaning "too many of your requests in flight" (older `detail.status`, newer `code`). */
const ELEVENLABS_CONCURRENCY_CODES = new Set(['too_many_concurrent_requests', 'concurrent_limit_exceeded']);

/**
 * ElevenLabs speech-to-text and text-to-speech over the shared agent. Retries 429 (concurrency:
 * short wait; `system_busy` / rate limits: exponential backoff), 5xx and network failures.
 */
export class ElevenLabsClient {
  readonly #apiKey: string;
  readonly #base: string;
  readonly #agent: Dispatcher;
  readonly #timeoutMs: number;
  readonly #sttModelId: string;
  readonly #ttsModelId: string;
  readonly #voiceId: string;
  readonly #maxAudioBytes: number;
  readonly #logger: Logger | undefined;
  readonly #redactor: SecretRedactor;
  readonly #policy: RetryPolicy;
  #concurrency: ElevenLabsConcurrency = { current: undefined, maximum: undefined };

  constructor(opts: ElevenLabsClientOptions) {
    if (typeof opts.apiKey !== 'string' || opts.apiKey.trim().length === 0) {
      throw new TypeError(
        'ElevenLabsClient needs an API key (ELEVENLABS_API_KEY); without one, keep voice features off',
      );
    }
    try {
      this.#base = new URL(opts.baseUrl).href.replace(/\/+$/, '');
    } catch {
      throw new TypeError('ElevenLabsClient baseUrl must be an absolute http(s) URL (ELEVENLABS_API_URL)');
    }
    this.#apiKey = opts.apiKey;
    this.#agent = opts.agent;
    this.#timeoutMs = opts.timeoutMs ?? 60_000;
    this.#sttModelId = opts.sttModelId ?? 'scribe_v1';
    this.#ttsModelId = opts.ttsModelId ?? 'eleven_turbo_v2_5';
    this.#voiceId = opts.voiceId ?? 'vfaqCOvlrKi4Zp7C2IAm';
    this.#maxAudioBytes = opts.maxAudioBytes ?? 50 * 1024 * 1024;
    this.#logger = opts.logger;
    this.#redactor = new SecretRedactor([opts.apiKey]);
    const concurrencyDelay = opts.concurrencyRetryDelayMs ?? 1_000;
    this.#policy = createRetryPolicy(
      'idempotent',
      {
        maxAttempts: opts.maxAttempts,
        maxInlineRetryAfterSeconds: opts.maxInlineRetryAfterSeconds,
        // ElevenLabs' own backoff defaults: slower than the shared ones.
        initialDelayMs: opts.initialDelayMs ?? 500,
        maxDelayMs: opts.maxDelayMs ?? 8_000,
      },
      {
        logger: opts.logger,
        delayFor: err =>
          err instanceof ApiRejectedError &&
          err.status === 429 &&
          err.retryAfter === undefined &&
          err.code !== undefined &&
          ELEVENLABS_CONCURRENCY_CODES.has(err.code)
            ? concurrencyDelay
            : undefined,
      },
    );
  }

  /** The concurrency headers of the last response (undefined until ElevenLabs sent them). */
  get concurrency(): ElevenLabsConcurrency {
    return { ...this.#concurrency };
  }

  /**
   * Speech-to-text (`POST /v1/speech-to-text`, multipart `model_id`, `file`, `language_code`).
   * Throws {@link TranscriptionEmptyError} when no words came back.
   */
  async transcribe(p: {
    audio: Uint8Array;
    filename: string;
    contentType: string;
    languageCode?: string;
  }): Promise<{ text: string; languageCode?: string }> {
    const ctx = this.#ctx('speech-to-text');
    const res = await this.#policy.execute(async () => {
      const form = new FormData();
      form.append('model_id', this.#sttModelId);
      form.append(
        'file',
        new Blob([p.audio as Uint8Array<ArrayBuffer>], { type: p.contentType }),
        p.filename,
      );
      if (p.languageCode !== undefined) form.append('language_code', p.languageCode);
      return this.#send(ctx, new URL(`${this.#base}/v1/speech-to-text`), form, 1_048_576 * 16);
    });
    const json = parseJson(res.body) as { text?: unknown; language_code?: unknown } | undefined;
    if (typeof json !== 'object' || json === null || typeof json.text !== 'string') {
      throw new ApiRejectedError({
        service: SERVICE,
        method: ctx.method,
        status: res.status,
        description: 'answer has no text field',
        ambiguous: true,
      });
    }
    const text = json.text.trim();
    if (text.length === 0) throw new TranscriptionEmptyError();
    return typeof json.language_code === 'string' ? { text, languageCode: json.language_code } : { text };
  }

  /**
   * Text-to-speech (`POST /v1/text-to-speech/{voiceId}?output_format=…`). For `ogg_opus` the bytes
   * must start with `OggS`; MP3 bytes instead are returned as `format: 'mp3'` (send them as audio),
   * anything else throws {@link UnexpectedAudioFormatError}.
   */
  async synthesize(p: {
    text: string;
    format: SpeechFormat;
    voiceId?: string;
  }): Promise<{ audio: Uint8Array; contentType: string; format: SpeechFormat }> {
    if (p.text.trim().length === 0) throw new TypeError('synthesize: text is empty');
    const ctx = this.#ctx('text-to-speech');
    const voice = encodeURIComponent(p.voiceId ?? this.#voiceId);
    const url = new URL(`${this.#base}/v1/text-to-speech/${voice}`);
    url.searchParams.set('output_format', OUTPUT_FORMAT[p.format]);
    const body = JSON.stringify({ text: p.text, model_id: this.#ttsModelId });
    const res = await this.#policy.execute(() =>
      this.#send(ctx, url, body, this.#maxAudioBytes, CONTENT_TYPE[p.format]),
    );
    const audio = res.body;
    const got = sniffAudio(audio);
    if (got === undefined) {
      throw new UnexpectedAudioFormatError(p.format, Buffer.from(audio.subarray(0, 4)).toString('hex'));
    }
    return { audio, contentType: CONTENT_TYPE[got], format: got };
  }

  #ctx(method: string): CallContext {
    return { service: SERVICE, method, redactor: this.#redactor };
  }

  async #send(
    ctx: CallContext,
    url: URL,
    body: string | FormData,
    maxBodyBytes: number,
    accept = 'application/json',
  ): Promise<RawResponse> {
    const headers: Record<string, string> = { 'xi-api-key': this.#apiKey, accept };
    if (typeof body === 'string') headers['content-type'] = 'application/json';
    const res = await httpCall({
      agent: this.#agent,
      url,
      method: 'POST',
      headers,
      body,
      timeoutMs: this.#timeoutMs,
      maxBodyBytes,
      tooLarge: ({ status }) =>
        new ApiRejectedError({
          service: SERVICE,
          method: ctx.method,
          status,
          description: `answer larger than ${maxBodyBytes} bytes`,
          ambiguous: true,
        }),
      ctx,
      logger: this.#logger,
    });
    this.#readConcurrency(res.headers);
    if (res.status >= 200 && res.status < 300) return res;
    throw elevenLabsRejection(res, ctx);
  }

  #readConcurrency(headers: IncomingHttpHeaders): void {
    const num = (name: string): number | undefined => {
      const v = headers[name];
      const n = Number(Array.isArray(v) ? v[0] : v);
      return v !== undefined && Number.isFinite(n) ? n : undefined;
    };
    const current = num('current-concurrent-requests');
    const maximum = num('maximum-concurrent-requests');
    if (current !== undefined || maximum !== undefined) {
      this.#concurrency = {
        current: current ?? this.#concurrency.current,
        maximum: maximum ?? this.#concurrency.maximum,
      };
    }
  }
}

/** `ogg_opus` when the bytes are an Ogg container, `mp3` for ID3 or an MPEG frame sync, else undefined. */
function sniffAudio(bytes: Uint8Array): SpeechFormat | undefined {
  const [b0, b1, b2, b3] = bytes;
  if (b0 === 0x4f && b1 === 0x67 && b2 === 0x67 && b3 === 0x53) return 'ogg_opus'; // "OggS"
  if (b0 === 0x49 && b1 === 0x44 && b2 === 0x33) return 'mp3'; // "ID3"
  if (b0 === 0xff && b1 !== undefined && (b1 & 0xe0) === 0xe0) return 'mp3'; // frame sync
  return undefined;
}
