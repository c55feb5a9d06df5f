import { UnrecoverableError, type Job } from 'bullmq';
import {
  inTraceOf,
  type BotConfig,
  type CallbackJobData,
  type CursorRunnerResult,
  type Logger,
  type SecretRedactor,
  type RedisClient,
} from '@telegram-receiver/core';
import { cleanText } from '../format/clean-text.ts';
import { formatProcessingError, formatResult } from '../format/format-result.ts';
import { shouldSendAsDocument, splitMessage } from '../format/split-message.ts';
import { StepInFlightError, type SendLedger } from '../ledger/send-ledger.ts';
import type { WorkerMetrics } from '../metrics.ts';
import { NOTICE_STEP, type NoticeScheduler } from '../notices/notice-scheduler.ts';
import { deleteCallbackState, loadCallbackState, type CallbackState } from '../updates/callback-state.ts';
import { ChatReplies, describe } from './chat-replies.ts';
import { deferIfRetryable, messageOf } from './job-policy.ts';
import type { ElevenLabsPort, SettingsPort, TelegramClients } from './ports.ts';
import type { SendPacer } from './send-pacer.ts';

/** Options of {@link createCallbackProcessor}. */
export interface CallbackProcessorOptions {
  bots: { byName(name: string): BotConfig | undefined };
  telegram: TelegramClients;
  /** Unset when ELEVENLABS_API_KEY is not configured: answers are always text. */
  elevenLabs: ElevenLabsPort | undefined;
  settings: SettingsPort;
  ledger: SendLedger;
  /** Connection for the callback state records. */
  redis: RedisClient;
  /** QUEUE_PREFIX: callback state records are `<prefix>:callback:<requestId>`. */
  prefix: string;
  redactor: SecretRedactor;
  metrics: WorkerMetrics;
  logger: Logger;
  /** Paces chat messages to Telegram's limits across replicas. Unset: no pacing. */
  pacer?: SendPacer | undefined;
  /**
   * Longest answer spoken as a voice message; a longer one is sent as text (minutes of speech
   * help nobody, and TTS models cap the input).
   * @defaultValue 2500
   */
  maxSpokenChars?: number;
  /** Schedules a "still working" check when no message of the answer is confirmed. Unset: none. */
  notices?: NoticeScheduler | undefined;
}

/** What a callback job returns (stored with the completed job; no chat text). */
export interface CallbackJobResult {
  outcome: 'unknown-request' | 'unknown-bot' | 'text' | 'document' | 'voice' | 'audio';
  parts?: number;
}

type CallbackJob = Job<CallbackJobData, CallbackJobResult, string>;

/**
 * The ledger steps that start an answer (`<requestId>:<step>`): the first text part, the document,
 * the spoken answer, or the failure text. A `done` one means the chat got the answer (or was told).
 */
export const ANSWER_STEPS = ['reply:0', 'document', 'voice', 'audio', 'error'] as const;

/** Name of the file a very long answer is attached as. */
export const OUTPUT_FILENAME = 'output.txt';

/** The short message sent with the document when the answer is too long for messages. */
export function documentNotice(result: CursorRunnerResult, chars: number): string {
  return result.success
    ? `✅ Cursor command completed. The output is long (${chars} characters), so it is attached as ${OUTPUT_FILENAME}.`
    : `❌ Cursor command failed. The error is long (${chars} characters), so it is attached as ${OUTPUT_FILENAME}.`;
}

/**
 * The `callbacks` queue processor (seed-contract §1.6, the Rails behaviour the seed left as a stub):
 * load the prompt's state, format the result, deliver it to the chat with the bot that took the
 * prompt — split into messages, or as a document when very long, or spoken when the prompt was
 * a voice note and `allow_audio_output` is on — then delete the state. Each message is one send
 * ledger step (`<requestId>:<step>`), so a retried job never repeats one.
 */
export function createCallbackProcessor(
  opts: CallbackProcessorOptions,
): (job: CallbackJob, token?: string) => Promise<CallbackJobResult> {
  const maxSpokenChars = opts.maxSpokenChars ?? 2500;

  /** Speak the answer. Returns false (send text instead) when speech is not possible. */
  async function speak(
    replies: ChatReplies,
    result: CursorRunnerResult,
    log: Logger,
  ): Promise<'voice' | 'audio' | undefined> {
    const elevenLabs = opts.elevenLabs;
    if (elevenLabs === undefined) return undefined;
    if (await replies.happened('voice')) return 'voice';
    if (await replies.happened('audio')) return 'audio';
    // Spoken by a third party (ElevenLabs): scrub secrets before the text leaves the process.
    const spoken = opts.redactor.redact(cleanText(result.output));
    if (!result.success || spoken === '' || spoken.length > maxSpokenChars) return undefined;
    let speech;
    try {
      speech = await opts.metrics.track('elevenlabs', 'text-to-speech', () =>
        elevenLabs.synthesize({ text: spoken, format: 'ogg_opus' }),
      );
    } catch (err) {
      log.warn({ reason: describe(err) }, 'text-to-speech failed; answering with text');
      return undefined;
    }
    // OGG/Opus shows as a voice bubble; MP3 (some plans) only as an audio file.
    const kind = speech.format === 'ogg_opus' ? 'voice' : 'audio';
    const file = {
      data: speech.audio,
      contentType: speech.contentType,
      filename: kind === 'voice' ? 'answer.ogg' : 'answer.mp3',
    };
    try {
      if (kind === 'voice') await replies.voice('voice', file);
      else await replies.audio('audio', file);
    } catch (err) {
      if (err instanceof StepInFlightError) throw err;
      // Certainly not delivered (the ledger re-throws only then): the text reply stands in.
      log.warn(
        { reason: describe(err) },
        `send${kind === 'voice' ? 'Voice' : 'Audio'} failed; answering with text`,
      );
      return undefined;
    }
    return kind;
  }

  async function deliver(
    replies: ChatReplies,
    state: CallbackState,
    result: CursorRunnerResult,
    log: Logger,
  ): Promise<CallbackJobResult> {
    const { debug, allow_audio_output } = await opts.settings.get();
    if (state.original_was_audio && allow_audio_output) {
      const spoken = await speak(replies, result, log);
      if (spoken !== undefined) return { outcome: spoken };
    }
    const parts = splitMessage(formatResult(result, { debug, redactor: opts.redactor }));
    if (shouldSendAsDocument(parts)) {
      const plain = opts.redactor.redact(cleanText(result.success ? result.output : result.error));
      await replies.text('reply:0', documentNotice(result, plain.length));
      await replies.document('document', {
        data: new TextEncoder().encode(plain),
        filename: OUTPUT_FILENAME,
        contentType: 'text/plain; charset=utf-8',
      });
      return { outcome: 'document', parts: 1 };
    }
    for (const [i, part] of parts.entries()) await replies.text(`reply:${i}`, part);
    return { outcome: 'text', parts: parts.length };
  }

  /**
   * No message of the answer is confirmed (each timed out or lost its connection): the chat may
   * have got nothing. The notice is opened again and a check scheduled; a retry of this job that
   * finds the notice sent or claimed meanwhile schedules nothing.
   */
  async function noticeUnconfirmed(
    requestId: string,
    replies: ChatReplies,
    state: CallbackState,
    bot: BotConfig,
    log: Logger,
  ): Promise<void> {
    const notices = opts.notices;
    if (notices?.enabled !== true || !(await opts.ledger.reopen(replies.key(NOTICE_STEP)))) return;
    const migrated = replies.chatId !== state.chat_id;
    await notices.schedule({
      requestId,
      bot: bot.name,
      chatId: replies.chatId,
      // Message ids do not carry over to a supergroup.
      ...(migrated ? {} : { replyTo: state.message_id }),
      reason: 'send',
    });
    log.info('no message of the answer is confirmed; still-working check scheduled');
  }

  return async function processCallback(job, token) {
    const { result } = job.data;
    const requestId = result.requestId;
    const log = opts.logger.child({ jobId: job.id, requestId });
    const state = await loadCallbackState(opts.redis, opts.prefix, requestId);
    if (state === null) {
      // Expired, already answered, or never ours: there is nobody to answer.
      log.info('callback for an unknown or expired request; nothing to answer');
      return { outcome: 'unknown-request' };
    }
    const bot = opts.bots.byName(state.bot);
    if (bot === undefined) {
      log.error(
        { bot: state.bot },
        'callback for a bot this worker does not know (check BOTS_FILE); dropped',
      );
      await deleteCallbackState(opts.redis, opts.prefix, requestId);
      return { outcome: 'unknown-bot' };
    }
    const replies = new ChatReplies({
      telegram: opts.telegram.get(bot),
      ledger: opts.ledger,
      metrics: opts.metrics,
      logger: log,
      chatId: state.chat_id,
      replyTo: state.message_id,
      keyPrefix: requestId,
      botName: bot.name,
      pacer: opts.pacer,
    });
    try {
      // A "still working" notice must not follow the answer: it is given up before the first
      // message, and while one is on its way the answer waits for it (StepInFlightError).
      await opts.ledger.forgo(replies.key(NOTICE_STEP));
      // The replies belong to the update's trace, which the callback state carried over.
      const outcome = await inTraceOf(state.trace, 'deliver cursor-runner result', () =>
        deliver(replies, state, result, log),
      );
      if (replies.delivery === 'unconfirmed') await noticeUnconfirmed(requestId, replies, state, bot, log);
      await deleteCallbackState(opts.redis, opts.prefix, requestId);
      log.info({ ...outcome, bot: bot.name, success: result.success }, 'cursor-runner result delivered');
      return outcome;
    } catch (err) {
      await deferIfRetryable(job, token, err, log, 'callback');
      const message = opts.redactor.redact(messageOf(err));
      log.error({ reason: describe(err), err: message }, 'callback failed for good');
      await replies
        .text('error', formatProcessingError(message))
        .catch((replyErr: unknown) =>
          log.warn({ reason: describe(replyErr) }, 'could not tell the chat about the failure'),
        );
      await deleteCallbackState(opts.redis, opts.prefix, requestId).catch(() => undefined);
      throw new UnrecoverableError(opts.redactor.redact(messageOf(err, 500)));
    }
  };
}
