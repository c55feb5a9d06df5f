import { ApiRejectedError, type Logger } from '@telegram-receiver/core';
import type { LedgerOutcome, SendLedger } from '../ledger/send-ledger.ts';
import type { WorkerMetrics } from '../metrics.ts';
import type { TelegramPort, UploadFile } from './ports.ts';
import type { SendPacer } from './send-pacer.ts';

/** Options of {@link ChatReplies}. */
export interface ChatRepliesOptions {
  telegram: TelegramPort;
  ledger: SendLedger;
  metrics: WorkerMetrics;
  logger: Logger;
  chatId: number;
  /** The message the replies answer (`reply_to_message_id`). */
  replyTo?: number | undefined;
  /** Ledger key prefix of this job: `<bot>:<update_id>` or `<requestId>`. */
  keyPrefix: string;
  /** Name of the bot that sends (its pace is shared by all its chats). */
  botName: string;
  /** Paces sends to Telegram's limits across replicas. Unset: no pacing. */
  pacer?: SendPacer | undefined;
}

// Telegram refuses markup it cannot parse with a 400 like "Bad Request: can't parse entities: …".
const PARSE_ERROR = /parse entities|unsupported start tag|can't find end tag|unexpected end tag/i;

/** Telegram HTML to the plain text it shows: tags dropped, the four named entities decoded. */
export function htmlToPlain(html: string): string {
  return html
    .replace(/<\/?[a-zA-Z][^<>]*>/g, '')
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&amp;', '&');
}

/**
 * Every message a job sends to its chat, each as one at-most-once ledger step
 * (`<keyPrefix>:<step>`), counted in the metrics. A step whose outcome is unknown is logged and
 * treated as delivered; a step that certainly failed throws, so the job can retry it.
 */
export class ChatReplies {
  readonly #o: ChatRepliesOptions;

  constructor(opts: ChatRepliesOptions) {
    this.#o = opts;
  }

  get chatId(): number {
    return this.#o.chatId;
  }

  /** The ledger key of a step of this job. */
  key(step: string): string {
    return `${this.#o.keyPrefix}:${step}`;
  }

  /** Whether a step already ran (or may have) on an earlier attempt. */
  async happened(step: string): Promise<boolean> {
    return (await this.#o.ledger.state(this.key(step))) !== undefined;
  }

  /**
   * Send Telegram-HTML text. If Telegram cannot parse the markup (it rejected the call, so nothing
   * was sent), the same text goes out once more as plain text instead of being lost.
   */
  async text(step: string, html: string): Promise<LedgerOutcome<unknown>> {
    const { telegram, chatId, replyTo } = this.#o;
    const base = { chat_id: chatId, ...(replyTo !== undefined ? { reply_to_message_id: replyTo } : {}) };
    return await this.#step(step, 'text', 'sendMessage', async () => {
      try {
        return await telegram.sendMessage({ ...base, text: html, parse_mode: 'HTML' });
      } catch (err) {
        if (!(err instanceof ApiRejectedError && err.status === 400 && PARSE_ERROR.test(err.description))) {
          throw err;
        }
        this.#o.logger.warn(
          { step: this.key(step) },
          'telegram could not parse the HTML; sending plain text',
        );
        return await telegram.sendMessage({ ...base, text: htmlToPlain(html) });
      }
    });
  }

  async document(step: string, file: UploadFile, caption?: string): Promise<LedgerOutcome<unknown>> {
    const { telegram, chatId, replyTo } = this.#o;
    return await this.#step(step, 'document', 'sendDocument', () =>
      telegram.sendDocument({
        chat_id: chatId,
        document: file,
        ...(caption !== undefined ? { caption } : {}),
        ...(replyTo !== undefined ? { reply_to_message_id: replyTo } : {}),
      }),
    );
  }

  async voice(step: string, file: UploadFile): Promise<LedgerOutcome<unknown>> {
    const { telegram, chatId, replyTo } = this.#o;
    return await this.#step(step, 'voice', 'sendVoice', () =>
      telegram.sendVoice({
        chat_id: chatId,
        voice: file,
        ...(replyTo !== undefined ? { reply_to_message_id: replyTo } : {}),
      }),
    );
  }

  async audio(step: string, file: UploadFile): Promise<LedgerOutcome<unknown>> {
    const { telegram, chatId, replyTo } = this.#o;
    return await this.#step(step, 'audio', 'sendAudio', () =>
      telegram.sendAudio({
        chat_id: chatId,
        audio: file,
        ...(replyTo !== undefined ? { reply_to_message_id: replyTo } : {}),
      }),
    );
  }

  async #step(
    step: string,
    kind: string,
    method: string,
    send: () => Promise<unknown>,
  ): Promise<LedgerOutcome<unknown>> {
    const { ledger, metrics, logger, pacer } = this.#o;
    const key = this.key(step);
    // Wait for our slot before claiming the step: a crash while waiting then loses nothing.
    if (pacer !== undefined && (await ledger.state(key)) === undefined) {
      await pacer.wait(this.#o.botName, this.#o.chatId);
    }
    const outcome = await ledger.once(key, () => metrics.track('telegram', method, send));
    if (outcome.status === 'ran') metrics.repliesSent.inc({ kind });
    else if (outcome.status === 'unknown') {
      logger.warn(
        { step: key, method, reason: describe(outcome.error) },
        'reply may or may not have reached telegram; not sending it again',
      );
    } else {
      logger.debug({ step: key, previous: outcome.previous }, 'reply already handled by an earlier attempt');
    }
    return outcome;
  }
}

/** A short, secret-free reason for logs (typed errors carry no URLs or tokens in these fields). */
export function describe(err: unknown): string {
  if (typeof err !== 'object' || err === null) return 'unknown';
  const e = err as { name?: unknown; status?: unknown; phase?: unknown; service?: unknown };
  const parts = [typeof e.name === 'string' ? e.name : 'Error'];
  if (typeof e.service === 'string') parts.push(e.service);
  if (typeof e.status === 'number') parts.push(String(e.status));
  if (typeof e.phase === 'string') parts.push(e.phase);
  return parts.join(':');
}
