import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  JOB_NAMES,
  QUEUE_NAMES,
  UPDATE_DEDUP_TTL_MS,
  closeConnection,
  createWorkerConnection,
  laneKey,
  updateJobId,
  type JobName,
  type TelegramUpdate,
  type UpdateJobData,
} from '@telegram-receiver/core';
import { RedisServer, randomName, waitFor } from '@telegram-receiver/testing';
import { LaneGate, jobIdPrefix } from '../../src/lanes/lane-gate.ts';

type UpdatesQueue = Queue<UpdateJobData, unknown, JobName>;

function textUpdate(updateId: number, chatId: number): TelegramUpdate {
  return {
    update_id: updateId,
    message: { message_id: updateId, date: 0, chat: { id: chatId, type: 'private' }, text: `m${updateId}` },
  };
}

/** Simulated work: the processors of real updates await network calls of varying length. */
function work(maxMs: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, Math.floor(Math.random() * maxMs)));
}

describe('LaneGate', () => {
  let server: RedisServer;
  let redis: Redis;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    server = await RedisServer.start({ appendOnly: false });
    redis = createWorkerConnection({ url: server.url, name: 'lane-test' });
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await closeConnection(redis);
    await server.close();
  });

  function setup(gateOptions: { retryDelayMs?: number; maxRetryDelayMs?: number } = {}) {
    const prefix = randomName('lanes');
    const bot = randomName('bot');
    const queue: UpdatesQueue = new Queue(QUEUE_NAMES.updates, { connection: redis, prefix });
    const gate = new LaneGate({ redis, queue, prefix, ...gateOptions });
    cleanups.push(async () => {
      await queue.obliterate({ force: true });
      await queue.close();
    });

    /** The gateway's two writes, in its order: lane entry, then the job. */
    async function gatewayAccept(
      update: TelegramUpdate,
      opts: { lane?: string | null; skipLaneWrite?: boolean; attempts?: number } = {},
    ) {
      const chatId = update.message?.chat.id;
      const lane = opts.lane !== undefined ? opts.lane : `chat:${chatId}`;
      if (lane !== null && !opts.skipLaneWrite) {
        const key = laneKey(prefix, bot, lane);
        await redis.zadd(key, update.update_id, String(update.update_id));
        await redis.pexpire(key, UPDATE_DEDUP_TTL_MS);
      }
      await queue.add(
        JOB_NAMES.telegramUpdate,
        { bot, update, lane, receivedAt: Date.now() },
        {
          jobId: updateJobId(bot, update.update_id),
          attempts: opts.attempts ?? 3,
          backoff: { type: 'fixed', delay: 20 },
          removeOnComplete: true,
          removeOnFail: false,
        },
      );
    }

    /** A worker replica whose processor goes through the gate first, as the real one does. */
    function startReplica(
      body: (job: Job<UpdateJobData, unknown, JobName>) => Promise<void>,
      concurrency = 8,
    ) {
      const connection = createWorkerConnection({ url: server.url, name: 'lane-test-worker' });
      const worker = new Worker<UpdateJobData, unknown, JobName>(
        QUEUE_NAMES.updates,
        async (job, token) => {
          if ((await gate.enter(job, token ?? '')) === 'delayed') throw new DelayedError();
          await body(job);
        },
        { connection, prefix, concurrency },
      );
      const detach = gate.attach(worker);
      cleanups.push(async () => {
        detach();
        await worker.close();
        await closeConnection(connection);
      });
      return worker;
    }

    return { prefix, bot, queue, gate, gatewayAccept, startReplica };
  }

  describe('enter() and leave()', () => {
    it('should keep each chat in update_id order across two replicas while chats run in parallel', async () => {
      const { prefix, bot, gatewayAccept, startReplica } = setup();
      const chats = 20;
      const perChat = 15;
      const total = chats * perChat;
      const seen = new Map<number, number[]>();
      const runningPerChat = new Map<number, number>();
      let maxSameChat = 0;
      let running = 0;
      let maxChatsInParallel = 0;
      let done = 0;
      let allDone!: () => void;
      const finished = new Promise<void>(resolve => (allDone = resolve));

      const body = async (job: Job<UpdateJobData, unknown, JobName>) => {
        const chatId = job.data.update.message?.chat.id as number;
        const inChat = (runningPerChat.get(chatId) ?? 0) + 1;
        runningPerChat.set(chatId, inChat);
        maxSameChat = Math.max(maxSameChat, inChat);
        running += 1;
        maxChatsInParallel = Math.max(maxChatsInParallel, running);
        await work(15);
        seen.set(chatId, [...(seen.get(chatId) ?? []), job.data.update.update_id]);
        runningPerChat.set(chatId, inChat - 1);
        running -= 1;
        done += 1;
        if (done === total) allDone();
      };
      startReplica(body);
      startReplica(body);

      // Telegram's view: per chat in order, chats interleaved at random, update ids increasing.
      const remaining = Array.from({ length: chats }, () => perChat);
      const chatIds = Array.from({ length: chats }, (_, i) => 1000 + i);
      const expected = new Map<number, number[]>();
      let updateId = 1;
      while (remaining.some(n => n > 0)) {
        const open = remaining.flatMap((n, i) => (n > 0 ? [i] : []));
        const pick = open[Math.floor(Math.random() * open.length)] as number;
        remaining[pick] = (remaining[pick] as number) - 1;
        const chatId = chatIds[pick] as number;
        expected.set(chatId, [...(expected.get(chatId) ?? []), updateId]);
        await gatewayAccept(textUpdate(updateId, chatId));
        updateId += 1;
      }

      await finished;
      for (const chatId of chatIds) expect(seen.get(chatId)).toEqual(expected.get(chatId));
      expect(maxSameChat).toBe(1);
      expect(maxChatsInParallel).toBeGreaterThan(1);
      // Every lane was left: nothing stays behind in Redis.
      await waitFor(async () => (await redis.keys(`${prefix}:lane:*`)).length === 0, {
        message: 'lanes were not emptied',
      });
      expect(await redis.keys(laneKey(prefix, bot, '*'))).toEqual([]);
    }, 60_000);

    it('should move a poison update aside after its attempts and let its chat continue', async () => {
      const { queue, bot, gatewayAccept, startReplica } = setup();
      const log: string[] = [];
      startReplica(async job => {
        const id = job.data.update.update_id;
        log.push(`${id}`);
        if (id === 2) throw new Error('poison');
      });
      for (let id = 1; id <= 5; id++) await gatewayAccept(textUpdate(id, 7), { attempts: 2 });
      await waitFor(() => log.includes('5') || undefined, { timeoutMs: 20_000 });
      // Update 2 ran twice (its two attempts) before anything after it ran.
      expect(log).toEqual(['1', '2', '2', '3', '4', '5']);
      expect(await queue.getJobState(updateJobId(bot, 2))).toBe('failed');
      expect((await queue.getJob(updateJobId(bot, 2)))?.attemptsMade).toBe(2);
    });

    it('should skip a stale lane head whose job does not exist', async () => {
      const { prefix, bot, gatewayAccept, startReplica } = setup();
      const key = laneKey(prefix, bot, 'chat:9');
      // An entry whose job is gone (e.g. a re-delivery that was deduplicated after the job finished).
      await redis.zadd(key, 3, '3');
      const log: number[] = [];
      startReplica(async job => {
        log.push(job.data.update.update_id);
      }, 2);
      for (let id = 4; id <= 6; id++) await gatewayAccept(textUpdate(id, 9));
      await waitFor(() => log.length === 3, { timeoutMs: 10_000 });
      expect(log).toEqual([4, 5, 6]);
      await waitFor(async () => (await redis.exists(key)) === 0);
    });

    it('should skip a stale lane head whose job is already completed', async () => {
      const { prefix, bot, queue, gatewayAccept, startReplica } = setup();
      const key = laneKey(prefix, bot, 'chat:11');
      await gatewayAccept(textUpdate(1, 11));
      // Complete job 1 by hand, without leaving its lane (as if the replica crashed right after).
      const plain = createWorkerConnection({ url: server.url, name: 'lane-test-plain' });
      const token = 'manual';
      const plainWorker = new Worker<UpdateJobData, unknown, JobName>(QUEUE_NAMES.updates, null, {
        connection: plain,
        prefix,
      });
      const first = (await plainWorker.getNextJob(token)) as Job<UpdateJobData, unknown, JobName>;
      expect(first.data.update.update_id).toBe(1);
      await first.moveToCompleted('ok', token, false);
      await plainWorker.close();
      await closeConnection(plain);
      expect(await redis.zrange(key, 0, -1)).toEqual(['1']);

      const log: number[] = [];
      startReplica(async job => {
        log.push(job.data.update.update_id);
      });
      await gatewayAccept(textUpdate(2, 11));
      await waitFor(() => log.length === 1);
      expect(log).toEqual([2]);
      expect(await queue.getJobState(updateJobId(bot, 2))).toBe('unknown'); // removeOnComplete
      await waitFor(async () => (await redis.exists(key)) === 0);
    });

    it('should run a job whose lane entry is missing and add it back while it runs', async () => {
      const { prefix, bot, gatewayAccept, startReplica } = setup();
      const key = laneKey(prefix, bot, 'chat:12');
      const duringRun: string[][] = [];
      const log: number[] = [];
      startReplica(async job => {
        duringRun.push(await redis.zrange(key, 0, -1));
        log.push(job.data.update.update_id);
      });
      await gatewayAccept(textUpdate(1, 12), { skipLaneWrite: true });
      await waitFor(() => log.length === 1);
      expect(duringRun).toEqual([['1']]);
      expect(await redis.pttl(key)).toBeLessThanOrEqual(UPDATE_DEDUP_TTL_MS);
      await waitFor(async () => (await redis.exists(key)) === 0);
    });

    it('should let a job without a lane run at once', async () => {
      const { prefix, gatewayAccept, startReplica } = setup();
      const log: number[] = [];
      startReplica(async job => {
        log.push(job.data.update.update_id);
      });
      await gatewayAccept({ update_id: 1, poll: { id: 'x' } }, { lane: null });
      await waitFor(() => log.length === 1);
      expect(await redis.keys(`${prefix}:lane:*`)).toEqual([]);
    });

    it('should hold a later update while an earlier one of its chat is still running', async () => {
      const { bot, queue, gatewayAccept, startReplica } = setup();
      let attemptsOf2 = -1;
      let release!: () => void;
      const held = new Promise<void>(resolve => (release = resolve));
      const log: string[] = [];
      startReplica(async job => {
        const id = job.data.update.update_id;
        log.push(`start ${id}`);
        if (id === 1) await held;
        if (id === 2) attemptsOf2 = job.attemptsMade;
        log.push(`end ${id}`);
      });
      await gatewayAccept(textUpdate(1, 13));
      await waitFor(() => log.includes('start 1'));
      await gatewayAccept(textUpdate(2, 13));
      // Job 2 is seen and sent back to delayed at least once while 1 runs.
      await waitFor(async () => (await queue.getJobState(updateJobId(bot, 2))) === 'delayed');
      expect(log).toEqual(['start 1']);
      release();
      await waitFor(() => log.length === 4);
      expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
      expect(attemptsOf2).toBe(0); // waiting behind the head is not an attempt
    });

    it('should promote the next update of the lane as soon as the head leaves', async () => {
      // Waits of a minute: only the promotion on leave can start update 2 within the test.
      const { bot, queue, gatewayAccept, startReplica } = setup({
        retryDelayMs: 60_000,
        maxRetryDelayMs: 60_000,
      });
      let release!: () => void;
      const held = new Promise<void>(resolve => (release = resolve));
      const log: string[] = [];
      startReplica(async job => {
        const id = job.data.update.update_id;
        if (id === 1) await held;
        log.push(`done ${id}`);
      });
      await gatewayAccept(textUpdate(1, 14));
      await gatewayAccept(textUpdate(2, 14));
      await waitFor(async () => (await queue.getJobState(updateJobId(bot, 2))) === 'delayed');
      release();
      await waitFor(() => log.length === 2, { timeoutMs: 10_000 });
      expect(log).toEqual(['done 1', 'done 2']);
    });
  });

  describe('jobIdPrefix()', () => {
    it('should be what updateJobId puts before the update id', () => {
      for (const bot of ['default', 'a-b_c', randomName('bot')]) {
        expect(`${jobIdPrefix(bot)}${123456789}`).toBe(updateJobId(bot, 123456789));
      }
    });
  });
});
