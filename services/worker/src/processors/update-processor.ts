import { UnrecoverableError, type Job } from 'bullmq';
import {
  FileTooLargeError,
  TELEGRAM_MAX_DOWNLOAD_BYTES,
  TranscriptionEmptyError,
  traceCarrier,
  type BotConfig,
  type Logger,
  type SecretRedactor,
  type UpdateJobData,
  type RedisClient,
} from '@telegram-receiver/core';
import { escapeHtml } from '../format/escape-html.ts';
import type { SendLedger } from '../ledger/send-ledger.ts';
import type { WorkerMetrics } from '../metrics.ts';
import type { NoticeScheduler } from '../notices/notice-scheduler.ts';
import { callbackStateRecord, deleteCallbackState } from '../updates/callback-state.ts';
import { classifyUpdate, type UpdateAction } from '../updates/classify-update.ts';
import { localCommandOf, localCommandReply } from '../updates/local-commands.ts';
import { requestIdFor } from '../updates/request-id.ts';
import { ChatReplies, describe } from './chat-replies.ts';
import { deferIfRetryable, isLastAttempt, isTransient, messageOf, rateLimitDelayMs } from './job-policy.ts';
import type { SendPacer } from './send-pacer.ts';
import type { CursorRunnerPort, ElevenLabsPort, SettingsPort, TelegramClients } from './ports.ts';

/** The seed's texts (seed-contract §1.4), and ours for what the seed could not do. */
export const TEXTS = {
  processing: "⏳ Processing your request... I'll send the results when complete.",
  transcribing: '🎤 Transcribing audio...',
  sttUnavailable: '❌ Voice messages are not available: speech-to-text is not configured.',
  transcriptionEmpty:
    "❌ Sorry, I couldn't transcribe the audio message. Please try again or send a text message.",
  audioTooLarge:
    '❌ This audio file is too large: bots can download files up to 20 MB. Please send a shorter recording or a text message.',
  transcriptionError: (msg: string) =>
    `❌ Error transcribing audio: ${msg}. Please try again or send a text message.`,
  cursorError: (msg: string) => `❌ Error: Failed to execute cursor command. ${msg}`,
  genericError: (msg: string) => `❌ Sorry, I encountered an error processing your message: ${msg}`,
} as const;

/** Options of {@link createUpdateProcessor}. */
export interface UpdateProcessorOptions {
  /** Bots by name (the job names its bot). */
  bots: { byName(name: string): BotConfig | undefined };
  telegram: TelegramClients;
  cursorRunner: CursorRunnerPort;
  /** Unset when ELEVENLABS_API_KEY is not configured: voice prompts get a clear reply. */
  elevenLabs: ElevenLabsPort | undefined;
  settings: SettingsPort;
  ledger: SendLedger;
  /** Connection for the callback state records. */
  redis: RedisClient;
  /** QUEUE_PREFIX: callback state records are `<prefix>:callback:<requestId>`. */
  prefix: string;
  /** Where cursor-runner posts results (CURSOR_RUNNER_CALLBACK_URL or <base>/cursor-runner/callback). */
  callbackUrl: string;
  /** Scrubs secrets from error texts before they reach a chat. */
  redactor: SecretRedactor;
  metrics: WorkerMetrics;
  logger: Logger;
  /** Paces chat messages to Telegram's limits across replicas. Unset: no pacing. */
  pacer?: SendPacer | undefined;
  /** Lifetime of a callback state record, in seconds. @defaultValue 3600 */
  callbackStateTtlSec?: number;
  /** Largest audio file downloaded for speech-to-text. @defaultValue 20 MB (Telegram's limit for bots) */
  maxAudioBytes?: number;
  /** Schedules a "still working" check when the hand-off's outcome is unknown. Unset: none. */
  notices?: NoticeScheduler | undefined;
}

/** What an update job returns (kept small: it is stored with the completed job; no chat text). */
export interface UpdateJobResult {
  action: UpdateAction['kind'];
  outcome: string;
}

type UpdateJob = Job<UpdateJobData, UpdateJobResult, string>;

interface Run {
  job: UpdateJob;
  bot: BotConfig;
  /** Ledger key prefix of this update: `<bot>:<update_id>`. */
  keyPrefix: string;
  /** The replies of this update to a chat (one ledger namespace per update, whatever the chat). */
  repliesTo(chatId: number, messageId: number | undefined): ChatReplies;
  log: Logger;
  debug: boolean;
}

interface Prompt {
  chatId: number;
  messageId: number;
  text: string;
  originalWasAudio: boolean;
}

/**
 * The `updates` queue processor (seed-contract §1.4–1.5): local commands, prompts to cursor-runner,
 * voice through speech-to-text, callback queries. Per-chat order comes from the lanes (only a chat's
 * head job is ever runnable: `lanes/lane-advancer.ts`); every
 * chat message goes through the send ledger, so a retry never repeats one; a transient failure is
 * retried by BullMQ and, on the last attempt, told to the user once.
 */
export function createUpdateProcessor(
  opts: UpdateProcessorOptions,
): (job: UpdateJob, token?: string) => Promise<UpdateJobResult> {
  const maxAudioBytes = opts.maxAudioBytes ?? TELEGRAM_MAX_DOWNLOAD_BYTES;
  const stateTtl = opts.callbackStateTtlSec ?? 3600;
  const safe = (err: unknown) => escapeHtml(opts.redactor.redact(messageOf(err)));

  async function forward(run: Run, p: Prompt): Promise<string> {
    const { job, bot, log } = run;
    const replies = run.repliesTo(p.chatId, p.messageId);
    if (localCommandOf(p.text)) {
      await replies.text('reply', localCommandReply(p.text));
      return 'local-command';
    }
    const requestId = requestIdFor(bot.name, job.data.update.update_id, job.data.receivedAt);
    // Stored with the claim of the cursor step, in one round trip; a retry after cursor-runner took
    // the prompt does not bring back a record its callback removed.
    const record = callbackStateRecord(
      opts.prefix,
      requestId,
      {
        chat_id: p.chatId,
        message_id: p.messageId,
        prompt: p.text,
        original_was_audio: p.originalWasAudio,
        created_at: new Date().toISOString(),
        bot: bot.name,
        trace: traceCarrier(),
      },
      stateTtl,
    );
    let handedOver;
    let claimed = false;
    try {
      handedOver = await opts.ledger.once(
        replies.key('cursor'),
        () => {
          claimed = true;
          return opts.metrics.track('cursor-runner', 'iterateAsync', () =>
            opts.cursorRunner.iterateAsync({
              id: requestId,
              prompt: p.text,
              callbackUrl: opts.callbackUrl,
              repository: '',
              branchName: 'main',
              maxIterations: 25,
            }),
          );
        },
        { record },
      );
    } catch (err) {
      // The claim or the record failed (Redis): cursor-runner was not called; the job's own failure path.
      if (!claimed) throw err;
      // cursor-runner certainly did not take the prompt: retry while attempts remain.
      if (rateLimitDelayMs(err) !== undefined || (isTransient(err) && !isLastAttempt(job))) throw err;
      log.warn({ requestId, reason: describe(err) }, 'cursor-runner did not take the prompt');
      await deleteCallbackState(opts.redis, opts.prefix, requestId);
      await replies.text('cursor-error', TEXTS.cursorError(safe(err)));
      return 'cursor-rejected';
    }
    if (
      handedOver.status === 'unknown' ||
      (handedOver.status === 'skipped' && handedOver.previous === 'pending')
    ) {
      if (handedOver.status === 'unknown') {
        // It may be running: its callback will answer. Sending it again could run it twice.
        log.warn(
          { requestId, reason: describe(handedOver.error) },
          'cursor-runner may have taken the prompt; not sending it again',
        );
      }
      // If no answer comes, the chat hears something. Again on a re-run: the first may have died first.
      await opts.notices?.schedule({
        requestId,
        bot: bot.name,
        chatId: p.chatId,
        replyTo: p.messageId,
        reason: 'handoff',
      });
    } else {
      log.info({ requestId, status: handedOver.status }, 'prompt handed to cursor-runner');
    }
    if (run.debug) await replies.text('processing', TEXTS.processing);
    return 'forwarded';
  }

  async function transcribe(run: Run, action: Extract<UpdateAction, { kind: 'audio' }>): Promise<string> {
    const { job, bot, log } = run;
    const replies = run.repliesTo(action.chatId, action.messageId);
    const elevenLabs = opts.elevenLabs;
    if (elevenLabs === undefined) {
      await replies.text('reply', TEXTS.sttUnavailable);
      return 'stt-unavailable';
    }
    if (action.fileSize !== undefined && action.fileSize > maxAudioBytes) {
      await replies.text('reply', TEXTS.audioTooLarge);
      return 'audio-too-large';
    }
    if (run.debug) await replies.text('transcribing', TEXTS.transcribing);
    const telegram = opts.telegram.get(bot);
    let text: string;
    try {
      const file = await opts.metrics.track('telegram', 'getFile', () => telegram.getFile(action.fileId));
      if (typeof file.file_path !== 'string' || file.file_path === '') {
        throw new Error('Telegram did not give a download path for the audio file');
      }
      const filePath = file.file_path;
      const audio = await opts.metrics.track('telegram', 'downloadFile', () =>
        telegram.downloadFile(filePath, { maxBytes: maxAudioBytes }),
      );
      ({ text } = await opts.metrics.track('elevenlabs', 'speech-to-text', () =>
        elevenLabs.transcribe({ audio, filename: action.fileName, contentType: action.mimeType }),
      ));
    } catch (err) {
      if (err instanceof FileTooLargeError) {
        await replies.text('reply', TEXTS.audioTooLarge);
        return 'audio-too-large';
      }
      if (err instanceof TranscriptionEmptyError) {
        await replies.text('reply', TEXTS.transcriptionEmpty);
        return 'transcription-empty';
      }
      // Reading and transcribing are safe to repeat: retry while attempts remain.
      if ((isTransient(err) && !isLastAttempt(job)) || rateLimitDelayMs(err) !== undefined) throw err;
      log.warn({ reason: describe(err) }, 'transcription failed');
      await replies.text('reply', TEXTS.transcriptionError(safe(err)));
      return 'transcription-failed';
    }
    if (text.trim() === '') {
      await replies.text('reply', TEXTS.transcriptionEmpty);
      return 'transcription-empty';
    }
    return await forward(run, {
      chatId: action.chatId,
      messageId: action.messageId,
      text: text.trim(),
      originalWasAudio: true,
    });
  }

  async function handle(run: Run, action: UpdateAction): Promise<string> {
    switch (action.kind) {
      case 'local-command':
        await run.repliesTo(action.chatId, action.messageId).text('reply', action.reply);
        return 'answered';
      case 'prompt':
        return await forward(run, { ...action, originalWasAudio: false });
      case 'audio':
        return await transcribe(run, action);
      case 'callback-query': {
        const telegram = opts.telegram.get(run.bot);
        try {
          // Stops the button's spinner; failing to do so must not stop the prompt.
          await opts.ledger.once(`${run.keyPrefix}:answer`, () =>
            opts.metrics.track('telegram', 'answerCallbackQuery', () =>
              telegram.answerCallbackQuery({
                callback_query_id: action.callbackQueryId,
                text: 'Processing...',
              }),
            ),
          );
        } catch (err) {
          run.log.warn({ reason: describe(err) }, 'answerCallbackQuery failed; going on');
        }
        if (action.chatId === undefined || action.messageId === undefined || action.data.trim() === '') {
          return 'answered';
        }
        return await forward(run, {
          chatId: action.chatId,
          messageId: action.messageId,
          text: action.data,
          originalWasAudio: false,
        });
      }
      case 'ignored':
        return 'ignored';
    }
  }

  return async function processUpdate(job, token) {
    if (token === undefined) throw new Error('the job has no lock token (run it from a BullMQ Worker)');
    const { update } = job.data;
    const log = opts.logger.child({ jobId: job.id, bot: job.data.bot, updateId: update.update_id });
    const bot = opts.bots.byName(job.data.bot);
    if (bot === undefined) {
      log.error('update for a bot this worker does not know (check BOTS_FILE); dropped');
      return { action: 'ignored', outcome: 'unknown-bot' };
    }
    const action = classifyUpdate(update);
    if (action.kind === 'ignored') {
      log.debug({ reason: action.reason }, 'update ignored');
      return { action: action.kind, outcome: 'ignored' };
    }
    const keyPrefix = `${bot.name}:${update.update_id}`;
    const repliesTo = (chatId: number, messageId: number | undefined) =>
      new ChatReplies({
        telegram: opts.telegram.get(bot),
        ledger: opts.ledger,
        metrics: opts.metrics,
        logger: log,
        chatId,
        replyTo: messageId,
        keyPrefix,
        botName: bot.name,
        pacer: opts.pacer,
      });
    try {
      const { debug } = await opts.settings.get();
      const run: Run = { job, bot, keyPrefix, repliesTo, log, debug };
      const outcome = await handle(run, action);
      log.info({ action: action.kind, outcome }, 'update processed');
      return { action: action.kind, outcome };
    } catch (err) {
      await deferIfRetryable(job, token, err, log, 'update');
      log.error(
        { reason: describe(err), err: opts.redactor.redact(messageOf(err)) },
        'update failed for good',
      );
      if (action.chatId !== undefined) {
        await repliesTo(action.chatId, action.messageId)
          .text('failure', TEXTS.genericError(safe(err)))
          .catch((replyErr: unknown) =>
            log.warn({ reason: describe(replyErr) }, 'could not tell the chat about the failure'),
          );
      }
      throw new UnrecoverableError(opts.redactor.redact(messageOf(err, 500)));
    }
  };
}
