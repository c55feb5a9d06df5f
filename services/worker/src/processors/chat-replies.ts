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

/**
 * The supergroup a group was upgraded to, when Telegram refused a send with
 * `parameters.migrate_to_chat_id` (the core client puts it in the error code); otherwise undefined.
 */
export function migratedChatId(err: unknown): number | undefined {
  if (!(err instanceof ApiRejectedError) || err.status !== 400 || err.code === undefined) return undefined;
  const match = /^migrate_to_chat_id:(-?\d+)$/.exec(err.code);
  const id = match ? Number(match[1]) : Number.NaN;
  return Number.isSafeInteger(id) ? id : undefined;
}

/** Where a send goes: the chat, and the message it answers. */
interface Target {
  chat_id: number;
  reply_to_message_id?: number;
}

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
 * What the steps met so far came to: at least one reached the chat (`confirmed`), only unknown
 * outcomes (`unconfirmed`: a timeout or a dropped connection, now or on an earlier attempt), or
 * nothing sent yet (`none`).
 */
export type ReplyDelivery = 'none' | 'unconfirmed' | 'confirmed';

/**
 * Every message a job sends to its chat, each as one at-most-once ledger step
 * (`<keyPrefix>:<step>`), counted in the metrics. A step whose outcome is unknown is logged and
 * treated as delivered; a step that certainly failed throws, so the job can retry it.
 */
export class ChatReplies {
  readonly #o: ChatRepliesOptions;
  #chatId: number;
  #replyTo: number | undefined;
  #delivery: ReplyDelivery = 'none';

  constructor(opts: ChatRepliesOptions) {
    this.#o = opts;
    this.#chatId = opts.chatId;
    this.#replyTo = opts.replyTo;
  }

  /** The chat the replies go to (the supergroup, once Telegram said the group was upgraded). */
  get chatId(): number {
    return this.#chatId;
  }

  /** Whether anything these replies sent is known to have reached the chat (see {@link ReplyDelivery}). */
  get delivery(): ReplyDelivery {
    return this.#delivery;
  }

  #note(state: 'done' | 'pending' | 'forgone' | undefined): void {
    if (state === 'done') this.#delivery = 'confirmed';
    else if (state === 'pending' && this.#delivery === 'none') this.#delivery = 'unconfirmed';
  }

  /** The ledger key of a step of this job. */
  key(step: string): string {
    return `${this.#o.keyPrefix}:${step}`;
  }

  /** Whether a step already ran (or may have) on an earlier attempt. */
  async happened(step: string): Promise<boolean> {
    const state = await this.#o.ledger.state(this.key(step));
    // Another run still sending it: wait (StepInFlightError) rather than count it as delivered.
    if (state === 'in-flight') await this.#o.ledger.assertNotInFlight(this.key(step));
    if (state !== 'in-flight') this.#note(state);
    return state !== undefined;
  }

  /**
   * Send Telegram-HTML text. If Telegram cannot parse the markup (it rejected the call, so nothing
   * was sent), the same text goes out once more as plain text instead of being lost.
   */
  async text(step: string, html: string): Promise<LedgerOutcome<unknown>> {
    const { telegram } = this.#o;
    return await this.#step(step, 'text', 'sendMessage', async base => {
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
    const { telegram } = this.#o;
    return await this.#step(step, 'document', 'sendDocument', target =>
      telegram.sendDocument({ ...target, document: file, ...(caption !== undefined ? { caption } : {}) }),
    );
  }

  async voice(step: string, file: UploadFile): Promise<LedgerOutcome<unknown>> {
    const { telegram } = this.#o;
    return await this.#step(step, 'voice', 'sendVoice', target =>
      telegram.sendVoice({ ...target, voice: file }),
    );
  }

  async audio(step: string, file: UploadFile): Promise<LedgerOutcome<unknown>> {
    const { telegram } = this.#o;
    return await this.#step(step, 'audio', 'sendAudio', target =>
      telegram.sendAudio({ ...target, audio: file }),
    );
  }

  #target(): Target {
    return {
      chat_id: this.#chatId,
      ...(this.#replyTo !== undefined ? { reply_to_message_id: this.#replyTo } : {}),
    };
  }

  /**
   * Send to the current target; if Telegram says the group became a supergroup (a 400, so nothing
   * was sent), follow it once and send there, and keep sending there for the rest of the job.
   */
  async #send(method: string, send: (target: Target) => Promise<unknown>): Promise<unknown> {
    try {
      return await send(this.#target());
    } catch (err) {
      const migrated = migratedChatId(err);
      if (migrated === undefined || migrated === this.#chatId) throw err;
      this.#o.logger.info({ method }, 'group was upgraded to a supergroup; sending there');
      this.#chatId = migrated;
      // Message ids do not carry over to the supergroup: a reply-to would be refused.
      this.#replyTo = undefined;
      return await send(this.#target());
    }
  }

  async #step(
    step: string,
    kind: string,
    method: string,
    send: (target: Target) => Promise<unknown>,
  ): Promise<LedgerOutcome<unknown>> {
    const { ledger, metrics, logger, pacer } = this.#o;
    const key = this.key(step);
    // Wait for our slot before claiming the step: a crash while waiting then loses nothing.
    if (pacer !== undefined && (await ledger.state(key)) === undefined) {
      await pacer.wait(this.#o.botName, this.#chatId);
    }
    const outcome = await ledger.once(key, () =>
      metrics.track('telegram', method, () => this.#send(method, send)),
    );
    this.#note(
      outcome.status === 'ran' ? 'done' : outcome.status === 'unknown' ? 'pending' : outcome.previous,
    );
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
