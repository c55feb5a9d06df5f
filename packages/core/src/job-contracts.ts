import type { TelegramUpdate } from './telegram-types.ts';

/**
 * The contract between the gateway (producer) and the worker (consumer). Both import it from here,
 * so a renamed queue or field is a type error, not a silent mismatch in production.
 */
export const QUEUE_NAMES = {
  updates: 'updates',
  callbacks: 'callbacks',
} as const;
export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

/**
 * The worker's own queues, outside the contract with the gateway: `notices` holds the delayed
 * "still working" checks (issue 10). Their jobs belong to no chat lane and are no scaling signal;
 * they are named here because the operator's tools read them too (dead letters and their gauges).
 */
export const SIDE_QUEUE_NAMES = {
  notices: 'notices',
} as const;
export type SideQueueName = (typeof SIDE_QUEUE_NAMES)[keyof typeof SIDE_QUEUE_NAMES];

/** Any queue of the system: one of the job contract ({@link QUEUE_NAMES}) or a side queue. */
export type AnyQueueName = QueueName | SideQueueName;

/** Every queue, the job contract's first: those whose failed jobs are dead letters for the operator. */
export const ALL_QUEUE_NAMES = [
  QUEUE_NAMES.updates,
  QUEUE_NAMES.callbacks,
  SIDE_QUEUE_NAMES.notices,
] as const satisfies readonly AnyQueueName[];

/** True for a queue of the job contract (chat lanes, the scaling signal); false for a side queue. */
export function isJobQueue(queue: AnyQueueName): queue is QueueName {
  return queue === QUEUE_NAMES.updates || queue === QUEUE_NAMES.callbacks;
}

export const JOB_NAMES = {
  telegramUpdate: 'telegram-update',
  cursorRunnerCallback: 'cursor-runner-callback',
} as const;
export type JobName = (typeof JOB_NAMES)[keyof typeof JOB_NAMES];

/** Telegram keeps undelivered updates 24 h, so a re-delivery can come that late: dedup at least that long. */
export const UPDATE_DEDUP_TTL_MS = 24 * 60 * 60 * 1000;

/** Data of a job on the `updates` queue (its lane: `lanes/lane-keys.ts`). */
export interface UpdateJobData {
  /** Name of the bot the update was addressed to (from the bots registry). */
  bot: string;
  /** The update exactly as Telegram sent it. */
  update: TelegramUpdate;
  /** Per-chat ordering lane (see {@link chatLaneOf}); `null` for updates that belong to no chat. */
  lane: string | null;
  /** Epoch ms when the gateway accepted the update. */
  receivedAt: number;
}

/**
 * A cursor-runner callback, normalised from camelCase or snake_case.
 * @see ../../../shared/reference/seed-contract.md §1.6, §2.4
 */
export interface CursorRunnerResult {
  requestId: string;
  success: boolean;
  repository?: string;
  branchName?: string;
  iterations: number;
  maxIterations: number;
  output: string;
  error: string | null;
  exitCode: number;
  duration?: string;
  timestamp?: string;
}

/** Data of a job on the `callbacks` queue. */
export interface CallbackJobData {
  result: CursorRunnerResult;
  receivedAt: number;
  /** The bot whose chat's lane holds the job (from the callback state), when it was found. */
  bot?: string;
  /** The chat lane the job joined (`chat:<id>`), or null / absent: a lane of its own. */
  lane?: string | null;
}

/**
 * BullMQ job id of an update. BullMQ rejects custom ids that contain ':' or that are plain
 * integers, so the bot name and update id are joined with '-' (bot names cannot contain ':').
 */
export function updateJobId(bot: string, updateId: number): string {
  return `${bot}-${updateId}`;
}

/** BullMQ job id of a cursor-runner callback (one job per request id, so a repeated callback is a no-op). */
export function callbackJobId(requestId: string): string {
  return `cb-${requestId.replaceAll(':', '_')}`;
}

/**
 * The ordering lane of an update: Telegram delivers one chat's messages one at a time (callback
 * queries one user at a time), and we keep that order through the queue. Returns `null` when the
 * update carries no chat or user (it can then run in any order).
 */
export function chatLaneOf(update: TelegramUpdate): string | null {
  const message = update.message ?? update.edited_message;
  if (message?.chat && Number.isSafeInteger(message.chat.id)) return `chat:${message.chat.id}`;
  const cq = update.callback_query;
  if (cq?.message?.chat && Number.isSafeInteger(cq.message.chat.id)) return `chat:${cq.message.chat.id}`;
  if (cq?.from && Number.isSafeInteger(cq.from.id)) return `user:${cq.from.id}`;
  return null;
}

/**
 * Redis key of a queue's lane index: a sorted set with one member per lane that holds at least one
 * unfinished item (waiting, parked behind its lane's head, delayed or running) of that queue, scored
 * by the epoch ms at which that lane's oldest unfinished item of the queue was accepted. An item
 * without a chat counts as a lane of its own. So `ZCARD` is the queue's pending lanes (the most work
 * that can run in parallel) and the lowest score dates its oldest unfinished item, both in O(log n).
 * The lane scripts maintain it atomically with the lanes themselves; the metrics service reads it.
 * A side queue has no lanes: its key never exists (it reads as empty).
 */
export function laneIndexKey(prefix: string, queue: AnyQueueName): string {
  return `${prefix}:${queue}:lanes`;
}

/**
 * Redis key of a queue's parked count: how many of its items are stored durably but are in none of
 * BullMQ's state lists yet, because they wait behind their lane's head. Absent means 0. A queue's
 * backlog is its wait, prioritized, delayed and active jobs plus this count. A side queue parks
 * nothing: its key never exists.
 */
export function parkedCountKey(prefix: string, queue: AnyQueueName): string {
  return `${prefix}:${queue}:parked`;
}
