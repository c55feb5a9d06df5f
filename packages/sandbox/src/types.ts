import type { Logger } from '@telegram-receiver/core';

/** The three services the sandbox stands in for. */
export const SANDBOX_SERVICES = ['telegram', 'cursor-runner', 'elevenlabs'] as const;
export type SandboxService = (typeof SANDBOX_SERVICES)[number];

/** Options of {@link startSandbox}. */
export interface SandboxOptions {
  /** Listen port; 0 picks a free one. @defaultValue 0 */
  port?: number;
  /** Listen address. @defaultValue '127.0.0.1' */
  host?: string;
  /** Secret cursor-runner sends back on callbacks (X-Webhook-Secret and X-Cursor-Runner-Secret) when the callback URL has no `secret` param. */
  webhookSecret?: string;
  /** Callback URL used when `/cursor/iterate/async` gets no callbackUrl. @defaultValue none (no callback is sent) */
  defaultCallbackUrl?: string;
  /** Delay between cursor-runner's ack and its callback POST. @defaultValue 0 */
  cursorDelayMs?: number;
  /** When set, ElevenLabs accepts only this `xi-api-key`; otherwise any non-empty key. */
  elevenLabsApiKey?: string;
  /** ElevenLabs requests in flight before 429 too_many_concurrent_requests. @defaultValue 10 */
  elevenLabsConcurrency?: number;
  /** Most calls kept in the record (oldest dropped first), so a long k6 run cannot exhaust memory. @defaultValue 100000 */
  maxRecordedCalls?: number;
  /** Where the sandbox logs (never secrets, never Bot API paths). @defaultValue silent */
  logger?: Logger;
}

/** One request the sandbox answered (or dropped), as recorded after its status was known. */
export interface SandboxCall {
  /** Arrival order, increasing across all services. */
  seq: number;
  /** Arrival time (ms since the epoch). */
  at: number;
  service: SandboxService;
  /** Bot API method (canonical case), `downloadFile`, `iterate-async`, `iterate`, `callback`, `health`, `speech-to-text`, `text-to-speech`. */
  method: string;
  botId?: string;
  chatId?: number;
  query: Record<string, string>;
  /** Request headers, lower-case names (secrets kept: this is a test tool). */
  headers: Record<string, string>;
  /** Parsed body; uploaded files appear as {@link UploadedFileInfo}. */
  body: unknown;
  /** Where an outgoing call went (cursor-runner callbacks), without its `secret` param. */
  url?: string;
  /** HTTP status answered; 0 when the connection was dropped or never answered (reset, timeout). */
  status: number;
}

/** How an uploaded file is recorded (its bytes are not kept in the record). */
export interface UploadedFileInfo {
  filename: string;
  contentType: string;
  size: number;
  /** First 4 bytes as lower-case hex: `4f676753` is `OggS`. */
  firstBytesHex: string;
  /** For text/* uploads (e.g. an output.txt document): the first 4096 characters, so tests can read what the bot sent. */
  textHead?: string;
}

export type FaultRule = {
  service: SandboxService;
  /** Method name as recorded; '*' matches any. @defaultValue '*' */
  method?: string;
  /** Only calls for this chat. */
  chatId?: number;
  /** Apply this many times, then expire. @defaultValue unlimited */
  times?: number;
} & (
  | { type: 'latency'; ms: number }
  | {
      type: 'status';
      status: number;
      /** Seconds: `Retry-After` header (and Telegram's `parameters.retry_after` on 429). */
      retryAfter?: number;
      /** ElevenLabs: `too_many_concurrent_requests` | `system_busy` | any detail status. */
      code?: string;
      /** Telegram / cursor-runner error text instead of the status's usual one. */
      description?: string;
    }
  | { type: 'timeout'; ms?: number }
  | { type: 'reset' }
  | { type: 'html'; status: number }
);

/** A file the Telegram stand-in knows about (for getFile and the download). */
export interface FileRegistration {
  fileId: string;
  /** What ElevenLabs speech-to-text will "hear" in this file. */
  transcript?: string;
  /** Size reported by getFile and served by the download (e.g. 21 MB to test the 20 MB cap). */
  sizeBytes?: number;
  /** @defaultValue 'audio/ogg' */
  mimeType?: string;
}

export interface CallFilter {
  service?: SandboxService;
  method?: string;
  chatId?: number;
  /**
   * Only the calls recorded after the first N recordings (see `recorded` in the HTTP answer): a
   * long-running poller reads each call once, even one that ended after a later call.
   */
  recordedAfter?: number;
}

/** A running sandbox. */
export interface Sandbox {
  /** `http://<host>:<port>`, the base URL of all three stand-ins. */
  url: string;
  calls(filter?: CallFilter): SandboxCall[];
  /** Forget calls, faults, files and webhooks. */
  reset(): void;
  setFault(rule: FaultRule): void;
  clearFaults(): void;
  registerFile(file: FileRegistration): void;
  close(): Promise<void>;
}
