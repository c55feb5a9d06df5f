import { UnrecoverableError, type Job } from 'bullmq';
import type { BotConfig, Logger, SecretRedactor } from '@telegram-receiver/core';
import type { SendLedger } from '../ledger/send-ledger.ts';
import type { WorkerMetrics } from '../metrics.ts';
import { ANSWER_STEPS } from '../processors/callback-processor.ts';
import { ChatReplies, describe } from '../processors/chat-replies.ts';
import { deferIfRetryable, messageOf } from '../processors/job-policy.ts';
import type { TelegramClients } from '../processors/ports.ts';
import type { SendPacer } from '../processors/send-pacer.ts';
import { NOTICE_STEP, type NoticeJobData, type NoticeReason } from './notice-scheduler.ts';

/** The notice, by what is known at the check. Short, and never a part of the answer. */
export const NOTICE_TEXTS: Record<NoticeReason, string> = {
  handoff: '⏳ Still working on your request. The answer will follow here when it is ready.',
  send: "⚠️ Telegram did not confirm that the answer to your request reached you. If you don't see it above, please send the request again.",
};

/** Options of {@link createNoticeProcessor}. */
export interface NoticeProcessorOptions {
  bots: { byName(name: string): BotConfig | undefined };
  telegram: TelegramClients;
  ledger: SendLedger;
  metrics: WorkerMetrics;
  logger: Logger;
  redactor: SecretRedactor;
  /** Paces chat messages to Telegram's limits across replicas. Unset: no pacing. */
  pacer?: SendPacer | undefined;
  /** False when STILL_WORKING_NOTICE_SECONDS is 0: checks still queued are dropped. */
  enabled: boolean;
}

/** What a check job returns (stored with the completed job; no chat text). */
export interface NoticeJobResult {
  outcome: 'sent' | 'unknown' | 'answered' | 'skipped' | 'off' | 'unknown-bot';
}

type NoticeJob = Job<NoticeJobData, NoticeJobResult, string>;

/**
 * The `notices` queue processor: when a request's check is due and no answer is known to have
 * reached the chat, send the chat one short notice, as the send-ledger step `<requestId>:notice`
 * (at most once across replicas and retries). The answer gives that step up before its first
 * message (`SendLedger.forgo`), and waits while a notice is on its way: a notice never follows
 * the answer, and the answer still follows a notice.
 */
export function createNoticeProcessor(
  opts: NoticeProcessorOptions,
): (job: NoticeJob, token?: string) => Promise<NoticeJobResult> {
  return async function processNotice(job, token) {
    const { requestId, chatId, replyTo } = job.data;
    const log = opts.logger.child({ jobId: job.id, requestId });
    if (!opts.enabled) {
      log.info('still-working notices are off (STILL_WORKING_NOTICE_SECONDS=0); check dropped');
      return { outcome: 'off' };
    }
    const bot = opts.bots.byName(job.data.bot);
    if (bot === undefined) {
      log.error(
        { bot: job.data.bot },
        'notice for a bot this worker does not know (check BOTS_FILE); dropped',
      );
      return { outcome: 'unknown-bot' };
    }
    const answer = await Promise.all(ANSWER_STEPS.map(step => opts.ledger.state(`${requestId}:${step}`)));
    if (answer.includes('done')) {
      log.info('the answer reached the chat; no notice');
      return { outcome: 'answered' };
    }
    // A first answer message with an unknown outcome: "still working" would be wrong, whichever check this is.
    const reason: NoticeReason = answer.some(s => s === 'pending' || s === 'in-flight') ? 'send' : 'handoff';
    const replies = new ChatReplies({
      telegram: opts.telegram.get(bot),
      ledger: opts.ledger,
      metrics: opts.metrics,
      logger: log,
      chatId,
      replyTo,
      keyPrefix: requestId,
      botName: bot.name,
      pacer: opts.pacer,
    });
    try {
      const sent = await replies.text(NOTICE_STEP, NOTICE_TEXTS[reason]);
      if (sent.status === 'skipped') {
        log.info({ previous: sent.previous }, 'no notice: the answer started, or the notice was handled');
        return { outcome: sent.previous === 'forgone' ? 'answered' : 'skipped' };
      }
      // Counted when sent, and when it may have been: either way it is not sent again.
      opts.metrics.noticesSent.inc({ reason, outcome: sent.status === 'ran' ? 'sent' : 'unknown' });
      log.info({ reason }, 'still-working notice sent');
      return { outcome: sent.status === 'ran' ? 'sent' : 'unknown' };
    } catch (err) {
      await deferIfRetryable(job, token, err, log, 'notice');
      log.warn({ reason: describe(err) }, 'still-working notice failed for good');
      throw new UnrecoverableError(opts.redactor.redact(messageOf(err, 500)));
    }
  };
}
