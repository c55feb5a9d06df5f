import { Queue } from 'bullmq';
import {
  DEFAULT_JOB_OPTIONS,
  SIDE_QUEUE_NAMES,
  bullmqTelemetry,
  type RedisClient,
} from '@telegram-receiver/core';

/**
 * The queue of "still working" checks: delayed BullMQ jobs (`<prefix>:notices:*`, under the
 * prefix's hash tag), so a check survives a crash or a restart and runs once across replicas.
 * It is no chat's lane: a check never holds a chat's next update back. Named in core
 * (`SIDE_QUEUE_NAMES`): the gateway's dead-letter API lists and discards its failed checks, and the
 * metrics service counts them.
 */
export const NOTICE_QUEUE = SIDE_QUEUE_NAMES.notices;

/** The job name of a check. */
export const NOTICE_JOB = 'still-working';

/**
 * The send-ledger step of a request's notice (`<requestId>:notice`): one notice per request,
 * whatever scheduled its checks, and the step the answer gives up before it starts.
 */
export const NOTICE_STEP = 'notice';

/**
 * Why a check was scheduled: the prompt's hand-off to cursor-runner ended with an unknown outcome
 * (`handoff`), or every message of the answer did (`send`).
 */
export type NoticeReason = 'handoff' | 'send';

/** Data of a check job. No prompt or answer text: only where the notice would go. */
export interface NoticeJobData {
  requestId: string;
  /** The bot that took the prompt (it sends the notice). */
  bot: string;
  chatId: number;
  /** The prompt's message, which the notice answers. */
  replyTo?: number;
  reason: NoticeReason;
}

/** One check per request and reason: scheduling it again (a retried job) is a no-op. */
export function noticeJobId(reason: NoticeReason, requestId: string): string {
  return `notice-${reason}-${requestId.replaceAll(':', '_')}`;
}

/** Options of {@link NoticeScheduler}. */
export interface NoticeSchedulerOptions {
  /** The queue's connection (owned by the caller). */
  connection: RedisClient;
  /** QUEUE_PREFIX. */
  prefix: string;
  /** STILL_WORKING_NOTICE_SECONDS; 0 turns notices off. */
  delaySeconds: number;
}

/** Schedules "still working" checks (STILL_WORKING_NOTICE_SECONDS after the unknown outcome). */
export class NoticeScheduler {
  readonly queue: Queue<NoticeJobData, unknown, string>;
  readonly #delayMs: number;

  constructor(opts: NoticeSchedulerOptions) {
    this.#delayMs = opts.delaySeconds * 1000;
    this.queue = new Queue<NoticeJobData, unknown, string>(NOTICE_QUEUE, {
      connection: opts.connection,
      prefix: opts.prefix,
      defaultJobOptions: DEFAULT_JOB_OPTIONS,
      telemetry: bullmqTelemetry(),
    });
  }

  /** False when STILL_WORKING_NOTICE_SECONDS is 0. */
  get enabled(): boolean {
    return this.#delayMs > 0;
  }

  /**
   * Schedule the check of a request (nothing when notices are off). Throws the Redis error, so the
   * job that met the unknown outcome fails and its retry (which meets the same `pending` step)
   * schedules it again.
   */
  async schedule(data: NoticeJobData): Promise<void> {
    if (!this.enabled) return;
    await this.queue.add(NOTICE_JOB, data, {
      jobId: noticeJobId(data.reason, data.requestId),
      delay: this.#delayMs,
    });
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}
