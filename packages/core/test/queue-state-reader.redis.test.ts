// The reader against real BullMQ queues in every state a job can wait in, written by the real lane
// writer (LaneWriter) and moved by a real BullMQ worker: the counts must match BullMQ's own
// getJobCounts, and the lane index must keep its contract (laneInvariantViolations).
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RedisServer, laneInvariantViolations, randomName, waitFor } from '@telegram-receiver/testing';
import {
  LaneWriter,
  QUEUE_NAMES,
  QueueStateReader,
  createProducerConnection,
  laneIndexKey,
  type LaneItem,
  type QueueName,
} from '../src/index.ts';

describe('QueueStateReader.read', () => {
  let server: RedisServer;
  let redis: Redis;
  let prefix: string;
  let queues: Queue[];
  beforeAll(async () => {
    server = await RedisServer.start({ appendOnly: false });
    redis = new Redis(server.url, { maxRetriesPerRequest: null });
  });
  afterAll(async () => {
    redis.disconnect();
    await server.close();
  });
  beforeEach(() => {
    prefix = randomName('tr');
    queues = [];
  });
  afterEach(async () => {
    for (const queue of queues) await queue.close();
  });

  const open = (name: QueueName) => {
    const queue = new Queue(name, { connection: redis, prefix });
    queues.push(queue);
    return queue;
  };
  const T0 = 1_700_000_000_000;

  it('should read keys laid out as BullMQ lays them out', () => {
    const queue = open(QUEUE_NAMES.updates);
    for (const state of ['wait', 'paused', 'prioritized', 'delayed', 'waiting-children', 'active', 'meta']) {
      expect(queue.keys[state]).toBe(`${prefix}:updates:${state}`);
    }
  });

  const item = (jobId: string, lane: string | null): LaneItem => ({
    jobId,
    data: JSON.stringify({ jobId }),
    opts: '{}',
    lane: lane === null ? null : { bot: 'alpha', lane },
  });

  it('should count waiting, prioritized, delayed (due and not yet due), active and parked items, and date the oldest', async () => {
    const queue = open(QUEUE_NAMES.updates);
    const lanes = new LaneWriter({ queue, redis, prefix });
    const worker = new Worker(QUEUE_NAMES.updates, null, {
      connection: redis.duplicate(),
      prefix,
      autorun: false,
    });
    // Delayed as the worker delays a job (a retry's backoff, a 429's retry_after): fetched, then moved.
    const delay = async (jobId: string, lane: string, acceptedAt: number, until: number) => {
      await lanes.append('u', [item(jobId, lane)], acceptedAt);
      const job = await worker.getNextJob(`token-${jobId}`);
      expect(job?.id).toBe(jobId);
      await job!.moveToDelayed(until, `token-${jobId}`);
    };
    await lanes.append('u', [item('c', 'chat:1'), item('d', 'chat:1')], T0 + 2000);
    const running = await worker.getNextJob('token-c');
    expect(running?.id).toBe('c');
    await delay('a', 'chat:3', T0, Date.now() + 3_600_000);
    // No fetch after this one: a fetch would promote the due job to wait.
    const dueAt = Date.now() + 1;
    await delay('b', 'chat:4', T0 + 1000, dueAt);
    await waitFor(() => Date.now() > dueAt, { message: 'job b is due' });
    await lanes.append('u', [item('e', 'chat:2'), item('f', null)], T0 + 3000);
    // The lane mechanism never writes a prioritized job; the reader counts one anyway, and its lane
    // is written as the contract says.
    await queue.add('u', { n: 'p' }, { priority: 5, jobId: 'p' });
    await redis.zadd(laneIndexKey(prefix, 'updates'), T0 + 4000, '#job:p');

    const reader = new QueueStateReader({ redis, prefix, now: () => T0 + 60_000 });
    const [state] = await reader.read(['updates']);
    const counts = await queue.getJobCounts('wait', 'prioritized', 'delayed', 'active');
    expect(counts).toEqual({ wait: 2, prioritized: 1, delayed: 2, active: 1 });
    expect(await laneInvariantViolations(redis, prefix)).toEqual([]);
    expect(state).toEqual({
      queue: 'updates',
      waiting: 2 + 1 + 2 + 1, // wait e, f; prioritized p; delayed a, b; parked d
      active: 1,
      backlog: 7,
      pendingLanes: 6, // chat:1..4, #job:f, #job:p
      oldestAgeSeconds: 60,
      paused: false,
    });
    await worker.close();
  });

  it('should count the jobs of a paused queue, which stay in wait', async () => {
    const queue = open(QUEUE_NAMES.callbacks);
    const lanes = new LaneWriter({ queue, redis, prefix });
    await lanes.append('c', [item('c1', 'chat:1')]);
    await queue.pause();
    await lanes.append('c', [item('c2', 'chat:2'), item('c3', 'chat:2')]);
    const reader = new QueueStateReader({ redis, prefix });
    const [state] = await reader.read(['callbacks']);
    expect(await queue.isPaused()).toBe(true);
    expect(await queue.getJobCounts('wait')).toEqual({ wait: 2 });
    expect(await redis.llen(queue.keys.paused!)).toBe(0);
    expect(state).toMatchObject({
      queue: 'callbacks',
      waiting: 3,
      active: 0,
      backlog: 3,
      pendingLanes: 2,
      paused: true,
    });
  });

  it('should read both queues in one transaction and say 0 for empty ones', async () => {
    const reader = new QueueStateReader({ redis, prefix });
    const states = await reader.read(['updates', 'callbacks']);
    expect(states.map(s => [s.queue, s.backlog, s.pendingLanes, s.oldestAgeSeconds])).toEqual([
      ['updates', 0, 0, 0],
      ['callbacks', 0, 0, 0],
    ]);
    expect(QueueStateReader.commandsPerRead(2)).toBe(22);
  });

  it('should count one lane for 1,000 updates of one chat and 1,000 lanes for 1,000 chats', async () => {
    const queue = open(QUEUE_NAMES.updates);
    const lanes = new LaneWriter({ queue, redis, prefix });
    await lanes.append(
      'u',
      Array.from({ length: 1000 }, (_, n) => item(`one-${n}`, 'chat:42')),
      T0,
    );
    await lanes.append(
      'u',
      Array.from({ length: 1000 }, (_, n) => item(`many-${n}`, `chat:${1000 + n}`)),
      T0 + 500,
    );
    const reader = new QueueStateReader({ redis, prefix, now: () => T0 + 1000 });
    const [state] = await reader.read(['updates']);
    // 1 + 1,000 lanes: the flooding chat is one lane, each of the 1,000 chats is one.
    expect(state).toMatchObject({ pendingLanes: 1001, backlog: 2000, waiting: 2000, oldestAgeSeconds: 1 });
    expect(await queue.getJobCounts('wait')).toEqual({ wait: 1001 });
    expect(await laneInvariantViolations(redis, prefix)).toEqual([]);

    prefix = randomName('tr');
    const flood = open(QUEUE_NAMES.updates);
    await new LaneWriter({ queue: flood, redis, prefix }).append(
      'u',
      Array.from({ length: 1000 }, (_, n) => item(`one-${n}`, 'chat:42')),
      T0,
    );
    const [one] = await new QueueStateReader({ redis, prefix, now: () => T0 + 1000 }).read(['updates']);
    expect(one).toMatchObject({ pendingLanes: 1, backlog: 1000, oldestAgeSeconds: 1 });
  });

  it('should reject when Redis cannot be reached, and ignore a corrupt parked count', async () => {
    const down = createProducerConnection({ url: 'redis://127.0.0.1:1', name: 'down' });
    down.on('error', () => undefined);
    await expect(new QueueStateReader({ redis: down, prefix }).read(['updates'])).rejects.toThrow();
    down.disconnect();
    await redis.set(`${prefix}:updates:parked`, 'garbage');
    const [state] = await new QueueStateReader({ redis, prefix }).read(['updates']);
    expect(state?.backlog).toBe(0);
  });
});
