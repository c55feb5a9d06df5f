import {
  DEFAULT_JOB_OPTIONS,
  LaneWriter,
  QUEUE_NAMES,
  encodeJobOptions,
  type AnyQueueName,
  type QueueName,
  type QueueRefs,
  type SecretRedactor,
  type RedisClient,
} from '@telegram-receiver/core';
import type { Job, Queue } from 'bullmq';

/** One dead letter in a listing. */
export interface DeadLetterSummary {
  queue: AnyQueueName;
  /** The failed job's id. */
  id: string;
  bot: string | null;
  /**
   * The chat lane (`chat:<id>`, `user:<id>`), or null: the item had no chat. A notice has no lane:
   * this is the chat it was for.
   */
  lane: string | null;
  /** Why its last attempt failed (secrets scrubbed, at most 300 characters). */
  reason: string;
  /** Epoch ms of the failure. */
  failedAt: number;
  ageSeconds: number;
  attempts: number;
  /** The id of the dead letter this one is a replay of, when it is one. */
  replayOf: string | null;
}

/** A dead letter in full: its payload and every recorded error, secrets scrubbed. */
export interface DeadLetterDetail extends DeadLetterSummary {
  data: unknown;
  stacktrace: string[];
  /** Epoch ms when it was first accepted. */
  createdAt: number;
}

/** What the filters of {@link DeadLetters.list} take. */
export interface DeadLetterFilter {
  /** @defaultValue 'updates' */
  queue?: AnyQueueName;
  bot?: string;
  /** A lane (`chat:42`) or a bare chat id (`42`). */
  chat?: string;
  /** Case-insensitive part of the failure reason. */
  reason?: string;
  /** Only dead letters at least this old. */
  minAgeSeconds?: number;
  /** Only dead letters at most this old. */
  maxAgeSeconds?: number;
  /** @defaultValue 50 (at most 200) */
  limit?: number;
  /** From {@link DeadLetterPage.nextCursor}. */
  cursor?: number;
}

export interface DeadLetterPage {
  items: DeadLetterSummary[];
  /** Pass as `cursor` for the next page; null at the end. */
  nextCursor: number | null;
}

/** What {@link DeadLetters.replay} did with one id. */
export type ReplayOutcome =
  /** Appended to its chat's lane as a new job (`newId`), behind what the chat has pending; the dead letter is gone. */
  | { id: string; outcome: 'replayed'; newId: string }
  /** No dead letter with that id (never was, discarded, replayed already, or past its retention). */
  | { id: string; outcome: 'not-found' };

/** Most failed jobs looked at for one page, whatever the filters: a listing never scans the whole set. */
const MAX_SCAN = 2000;
const SCAN_BATCH = 100;
const REPLAY_SUFFIX = /^(.*)-r(\d{1,6})$/;

/**
 * Dead letters: updates and callbacks that failed for good (BullMQ's `failed` set, kept for the
 * retention of `removeOnFail`), for the operator to list, inspect, replay and discard; and failed
 * still-working notices (the worker's `notices` queue), to list, inspect and discard only: a notice
 * is true when it is sent on time, and has no lane to go back to.
 *
 * Why a replay is a new job appended to the chat's lane, not BullMQ's `retry`: a retried job
 * would run at once, ahead of whatever its chat has pending, breaking per-chat order; appended
 * with `LaneWriter`, it runs after them, like a message arriving now. The new id (`<id>-r<n>`)
 * keeps the send ledger's steps of the original: a reply that may already have reached the chat
 * is not sent again. A replay that fails again is a new dead letter: nothing ever replays by itself,
 * so nothing loops.
 */
export class DeadLetters {
  readonly #queues: QueueRefs;
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly #redactor: Pick<SecretRedactor, 'redact'>;
  readonly #writers: Record<QueueName, LaneWriter>;
  #bullmq: Promise<Record<AnyQueueName, Queue>> | undefined;

  constructor(opts: {
    queues: QueueRefs;
    redis: RedisClient;
    prefix: string;
    redactor: Pick<SecretRedactor, 'redact'>;
  }) {
    this.#queues = opts.queues;
    this.#redis = opts.redis;
    this.#prefix = opts.prefix;
    this.#redactor = opts.redactor;
    this.#writers = {
      updates: new LaneWriter({ queue: opts.queues.updates, redis: opts.redis, prefix: opts.prefix }),
      callbacks: new LaneWriter({ queue: opts.queues.callbacks, redis: opts.redis, prefix: opts.prefix }),
    };
  }

  /** Newest first, filtered; scans at most {@link MAX_SCAN} failed jobs per page. */
  async list(filter: DeadLetterFilter = {}): Promise<DeadLetterPage> {
    const queue = filter.queue ?? QUEUE_NAMES.updates;
    const limit = Math.min(Math.max(filter.limit ?? 50, 1), 200);
    const failedKey = this.#queues[queue].keys.failed as string;
    const now = Date.now();
    const items: DeadLetterSummary[] = [];
    let offset = filter.cursor ?? 0;
    const stopAt = offset + MAX_SCAN;
    while (items.length < limit && offset < stopAt) {
      const ids = await this.#redis.zrevrange(failedKey, offset, offset + SCAN_BATCH - 1);
      if (ids.length === 0) return { items, nextCursor: null };
      const jobs = await this.#summaries(queue, ids, now);
      for (let i = 0; i < ids.length; i++) {
        offset++;
        const summary = jobs[i];
        if (summary !== undefined && matches(summary, filter)) items.push(summary);
        if (items.length === limit) break;
      }
    }
    const more = (await this.#redis.zcard(failedKey)) > offset;
    return { items, nextCursor: more ? offset : null };
  }

  async inspect(queue: AnyQueueName, id: string): Promise<DeadLetterDetail | undefined> {
    const job = await this.#failedJob(queue, id);
    if (job === undefined) return undefined;
    const summary = this.#summaryOf(queue, job, Date.now());
    return {
      ...summary,
      data: JSON.parse(this.#redactor.redact(JSON.stringify(job.data))) as unknown,
      stacktrace: (job.stacktrace ?? []).map(line => this.#redactor.redact(line)),
      createdAt: job.timestamp,
    };
  }

  /**
   * Put dead letters back into their chats' lanes, in the order they were first accepted, and
   * remove them from the dead letters. Replaying the same id twice is harmless: the second time it
   * is not found. Job queues only: a notice is not replayed.
   */
  async replay(queue: QueueName, ids: readonly string[]): Promise<ReplayOutcome[]> {
    const found: { id: string; job: Job }[] = [];
    const outcomes = new Map<string, ReplayOutcome>();
    for (const id of new Set(ids)) {
      const job = await this.#failedJob(queue, id);
      if (job === undefined) outcomes.set(id, { id, outcome: 'not-found' });
      else found.push({ id, job });
    }
    // In the order the chat sent them, so a chat's replayed items keep their order.
    found.sort((a, b) => receivedAt(a.job) - receivedAt(b.job));
    const options = encodeJobOptions({ ...DEFAULT_JOB_OPTIONS, ...this.#queues[queue].defaultJobOptions });
    const items = found.map(({ id, job }) => {
      const [, base = id, n = '0'] = REPLAY_SUFFIX.exec(id) ?? [];
      const newId = `${base}-r${Number(n) + 1}`;
      const data = job.data as { bot?: unknown; lane?: unknown };
      const lane =
        typeof data.bot === 'string' && typeof data.lane === 'string'
          ? { bot: data.bot, lane: data.lane }
          : null;
      return {
        newId,
        item: {
          jobId: newId,
          data: JSON.stringify({ ...(job.data as object), replayOf: base }),
          opts: JSON.stringify({ ...options, jobId: newId }),
          lane,
        },
        name: job.name,
      };
    });
    for (const { item, name } of items) await this.#writers[queue].append(name, [item]);
    for (const [i, { id, job }] of found.entries()) {
      await job.remove();
      outcomes.set(id, { id, outcome: 'replayed', newId: items[i]?.newId as string });
    }
    return ids.map(id => outcomes.get(id) ?? { id, outcome: 'not-found' });
  }

  /** Remove a dead letter for good. False when there was none with that id. */
  async discard(queue: AnyQueueName, id: string): Promise<boolean> {
    const job = await this.#failedJob(queue, id);
    if (job === undefined) return false;
    await job.remove();
    return true;
  }

  /** How many dead letters each queue holds, and the age of its oldest. */
  async stats(): Promise<Record<AnyQueueName, { count: number; oldestAgeSeconds: number | null }>> {
    const now = Date.now();
    const of = async (queue: AnyQueueName) => {
      const key = this.#queues[queue].keys.failed as string;
      const [count, oldest] = await Promise.all([
        this.#redis.zcard(key),
        this.#redis.zrange(key, 0, 0, 'WITHSCORES'),
      ]);
      const score = oldest[1] === undefined ? null : Number(oldest[1]);
      return { count, oldestAgeSeconds: score === null ? null : Math.max(0, (now - score) / 1000) };
    };
    return { updates: await of('updates'), callbacks: await of('callbacks'), notices: await of('notices') };
  }

  /** Close the BullMQ queues opened for reading jobs, if any (not the connection: the caller owns it). */
  async close(): Promise<void> {
    const queues = await this.#bullmq?.catch(() => undefined);
    this.#bullmq = undefined;
    if (queues !== undefined) await Promise.all(Object.values(queues).map(q => q.close()));
  }

  // BullMQ reads and removes jobs here (Job.fromId, job.remove). It is loaded on the first call, not
  // at start-up: nothing else in the gateway needs it, and it costs ~6 MB (docs/operations.md, "Memory").
  async #bullmqQueue(queue: AnyQueueName): Promise<Queue> {
    this.#bullmq ??= import('bullmq').then(({ Queue }) => {
      const open = (name: AnyQueueName) =>
        new Queue(this.#queues[name].name, {
          connection: this.#redis,
          prefix: this.#prefix,
          defaultJobOptions: this.#queues[name].defaultJobOptions,
        });
      return { updates: open('updates'), callbacks: open('callbacks'), notices: open('notices') };
    });
    return (await this.#bullmq)[queue];
  }

  async #failedJob(queue: AnyQueueName, id: string): Promise<Job | undefined> {
    const failedKey = this.#queues[queue].keys.failed as string;
    if ((await this.#redis.zscore(failedKey, id)) === null) return undefined;
    return (await (await this.#bullmqQueue(queue)).getJob(id)) ?? undefined;
  }

  async #summaries(
    queue: AnyQueueName,
    ids: string[],
    now: number,
  ): Promise<(DeadLetterSummary | undefined)[]> {
    const bullmq = await this.#bullmqQueue(queue);
    const jobs = await Promise.all(ids.map(id => bullmq.getJob(id)));
    return jobs.map(job => (job === undefined ? undefined : this.#summaryOf(queue, job, now)));
  }

  #summaryOf(queue: AnyQueueName, job: Job, now: number): DeadLetterSummary {
    const data = (job.data ?? {}) as { bot?: unknown; lane?: unknown; chatId?: unknown; replayOf?: unknown };
    const failedAt = job.finishedOn ?? job.processedOn ?? job.timestamp;
    return {
      queue,
      id: job.id ?? '',
      bot: typeof data.bot === 'string' ? data.bot : null,
      lane: laneOf(data),
      reason: this.#redactor.redact(job.failedReason ?? '').slice(0, 300),
      failedAt,
      ageSeconds: Math.max(0, Math.round((now - failedAt) / 1000)),
      attempts: job.attemptsMade,
      replayOf: typeof data.replayOf === 'string' ? data.replayOf : null,
    };
  }
}

/** The item's lane; for a notice (no lane), its chat's: so `chat=` finds it too. */
function laneOf(data: { lane?: unknown; chatId?: unknown }): string | null {
  if (typeof data.lane === 'string') return data.lane;
  return Number.isSafeInteger(data.chatId) ? `chat:${data.chatId as number}` : null;
}

function receivedAt(job: Job): number {
  const at = (job.data as { receivedAt?: unknown }).receivedAt;
  return typeof at === 'number' ? at : job.timestamp;
}

function matches(item: DeadLetterSummary, filter: DeadLetterFilter): boolean {
  if (filter.bot !== undefined && item.bot !== filter.bot) return false;
  if (filter.chat !== undefined) {
    const wanted = filter.chat.includes(':') ? filter.chat : `chat:${filter.chat}`;
    if (item.lane !== wanted) return false;
  }
  if (filter.reason !== undefined && !item.reason.toLowerCase().includes(filter.reason.toLowerCase())) {
    return false;
  }
  if (filter.minAgeSeconds !== undefined && item.ageSeconds < filter.minAgeSeconds) return false;
  if (filter.maxAgeSeconds !== undefined && item.ageSeconds > filter.maxAgeSeconds) return false;
  return true;
}
