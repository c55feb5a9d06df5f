// The reader against real BullMQ queues in every state a job can wait in, with the lane index written
// as its contract says (LaneIndexFixture): the counts must match BullMQ's own getJobCounts.
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LaneIndexFixture, RedisServer, randomName, waitFor } from '@telegram-receiver/testing';
import { QUEUE_NAMES, QueueStateReader, createProducerConnection, type QueueName } from '../src/index.ts';

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

  it('should count waiting, prioritized, delayed (due and not yet due), active and parked items, and date the oldest', async () => {
    const queue = open(QUEUE_NAMES.updates);
    const lanes = new LaneIndexFixture(redis, prefix);
    await queue.add('u', { n: 0 });
    await lanes.accept('updates', 'chat:1', T0);
    const worker = new Worker(QUEUE_NAMES.updates, null, {
      connection: redis.duplicate(),
      prefix,
      autorun: false,
    });
    const running = await worker.getNextJob('token-1');
    expect(running?.data).toEqual({ n: 0 });
    await queue.add('u', { n: 1 });
    await lanes.accept('updates', 'chat:1', T0 + 1000);
    await queue.add('u', { n: 2 });
    await lanes.accept('updates', 'chat:2', T0 + 2000);
    await queue.add('u', { n: 3 }, { priority: 5 });
    await lanes.accept('updates', 'job:3', T0 + 3000);
    await queue.add('u', { n: 4 }, { delay: 3_600_000 });
    await lanes.accept('updates', 'chat:3', T0 + 4000);
    const due = await queue.add('u', { n: 5 }, { delay: 1 });
    await lanes.accept('updates', 'chat:3', T0 + 5000);
    await waitFor(() => Date.now() > due.timestamp + 1, { message: 'the delayed job is due' });
    await lanes.accept('updates', 'chat:1', T0 + 6000, { parked: true });

    const reader = new QueueStateReader({ redis, prefix, now: () => T0 + 60_000 });
    const [state] = await reader.read(['updates']);
    const counts = await queue.getJobCounts('wait', 'prioritized', 'delayed', 'active');
    expect(counts).toEqual({ wait: 2, prioritized: 1, delayed: 2, active: 1 });
    expect(state).toEqual({
      queue: 'updates',
      waiting: 2 + 1 + 2 + 1,
      active: 1,
      backlog: 7,
      pendingLanes: 4,
      oldestAgeSeconds: 60,
      paused: false,
    });
    await worker.close();
  });

  it('should count the jobs of a paused queue, which stay in wait', async () => {
    const queue = open(QUEUE_NAMES.callbacks);
    await queue.add('c', { n: 1 });
    await queue.pause();
    await queue.add('c', { n: 2 });
    await queue.add('c', { n: 3 }, { priority: 2 });
    const reader = new QueueStateReader({ redis, prefix });
    const [state] = await reader.read(['callbacks']);
    expect(await queue.isPaused()).toBe(true);
    expect(await queue.getJobCounts('wait', 'prioritized')).toEqual({ wait: 2, prioritized: 1 });
    expect(await redis.llen(queue.keys.paused!)).toBe(0);
    expect(state).toMatchObject({ queue: 'callbacks', waiting: 3, active: 0, backlog: 3, paused: true });
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
    const lanes = new LaneIndexFixture(redis, prefix);
    await queue.addBulk(Array.from({ length: 1000 }, (_, n) => ({ name: 'u', data: { n } })));
    for (let n = 0; n < 1000; n++) await lanes.accept('updates', 'chat:42', T0 + n, { parked: n > 0 });
    const reader = new QueueStateReader({ redis, prefix, now: () => T0 + 1000 });
    let [state] = await reader.read(['updates']);
    expect(state).toMatchObject({ pendingLanes: 1, backlog: 1000 + 999, oldestAgeSeconds: 1 });

    prefix = randomName('tr');
    const many = open(QUEUE_NAMES.updates);
    await many.addBulk(Array.from({ length: 1000 }, (_, n) => ({ name: 'u', data: { n } })));
    await new LaneIndexFixture(redis, prefix).acceptMany(
      'updates',
      Array.from({ length: 1000 }, (_, n) => ({ lane: `chat:${n}`, acceptedAt: T0 + n })),
    );
    [state] = await new QueueStateReader({ redis, prefix, now: () => T0 + 1000 }).read(['updates']);
    expect(state).toMatchObject({ pendingLanes: 1000, backlog: 1000, oldestAgeSeconds: 1 });
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
