import {
  JOB_NAMES,
  createProducerConnection,
  createQueues,
  laneIndexKey,
  laneListKey,
  parkedCountKey,
  updateJobId,
  type Queues,
} from '@telegram-receiver/core';
import { RedisServer, laneInvariantViolations, laneJobIds, randomName } from '@telegram-receiver/testing';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UpdateBatcher } from '../src/update-batcher.ts';

const message = (updateId: number, chat: number) => ({
  update_id: updateId,
  message: { message_id: updateId, date: 1, chat: { id: chat, type: 'private' as const }, text: 'hi' },
});

describe('UpdateBatcher.submit(update)', () => {
  let server: RedisServer;
  let redis: Redis;
  let probe: Redis;
  let queues: Queues;
  let prefix: string;

  beforeAll(async () => {
    server = await RedisServer.start({ appendOnly: false });
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(async () => {
    prefix = randomName('tr');
    redis = createProducerConnection({ url: server.url, name: 'test-producer' });
    probe = new Redis(server.url);
    await new Promise(resolve => redis.once('ready', resolve));
    queues = createQueues(redis, prefix);
  });
  afterEach(async () => {
    await queues.updates.obliterate({ force: true }).catch(() => undefined);
    await queues.updates.close();
    await queues.callbacks.close();
    redis.disconnect();
    probe.disconnect();
  });

  it('should write every update of one event-loop turn in one Redis batch', async () => {
    const batches: number[] = [];
    const batcher = new UpdateBatcher({
      queue: queues.updates,
      redis,
      prefix,
      onBatch: n => batches.push(n),
    });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        batcher.submit({
          bot: 'b',
          updateId: i + 1,
          update: message(i + 1, 1000 + (i % 5)),
          lane: `chat:${1000 + (i % 5)}`,
        }),
      ),
    );
    expect(results.every(isNew => isNew)).toBe(true);
    expect(batches).toEqual([50]);
    const job = await queues.updates.getJob(updateJobId('b', 7));
    expect(job?.name).toBe(JOB_NAMES.telegramUpdate);
    expect(job?.data).toMatchObject({ bot: 'b', lane: 'chat:1001', update: message(7, 1001) });
    // One chat's updates in arrival order; only the first is runnable, the others are parked.
    expect((await laneJobIds(probe, prefix, 'b:chat:1001')).updates).toEqual(
      [2, 7, 12, 17, 22, 27, 32, 37, 42, 47].map(id => updateJobId('b', id)),
    );
    expect(await queues.updates.getJobCountByTypes('waiting')).toBe(5);
    expect(await probe.get(parkedCountKey(prefix, 'updates'))).toBe('45');
    expect(await probe.zcard(laneIndexKey(prefix, 'updates'))).toBe(5);
    expect(await laneInvariantViolations(probe, prefix)).toEqual([]);
  });

  it('should flush early when maxBatch updates wait', async () => {
    const batches: number[] = [];
    const batcher = new UpdateBatcher({
      queue: queues.updates,
      redis,
      prefix,
      maxBatch: 5,
      onBatch: n => batches.push(n),
    });
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        batcher.submit({ bot: 'b', updateId: i + 1, update: message(i + 1, 1), lane: 'chat:1' }),
      ),
    );
    expect(batches).toEqual([5, 5, 2]);
    expect(await queues.updates.getJobCountByTypes('waiting')).toBe(1);
    expect((await laneJobIds(probe, prefix, 'b:chat:1')).updates).toHaveLength(12);
  });

  it('should report a re-delivery in the same batch and in a later one as not new, with one job', async () => {
    const batcher = new UpdateBatcher({ queue: queues.updates, redis, prefix });
    const u = { bot: 'b', updateId: 42, update: message(42, 9), lane: 'chat:9' };
    expect(await Promise.all([batcher.submit(u), batcher.submit(u)])).toEqual([true, false]);
    expect(await batcher.submit(u)).toBe(false);
    expect(await queues.updates.getJobCountByTypes('waiting')).toBe(1);
  });

  it('should count an update without a lane as new and write no lane', async () => {
    const batcher = new UpdateBatcher({ queue: queues.updates, redis, prefix });
    expect(await batcher.submit({ bot: 'b', updateId: 5, update: { update_id: 5 }, lane: null })).toBe(true);
    expect(await probe.keys(`${prefix}:lane:*`)).toEqual([]);
  });

  it('should fail every waiter when the batch fails half-way, and complete it on the retry', async () => {
    const batcher = new UpdateBatcher({ queue: queues.updates, redis, prefix });
    // A lane key of the wrong type makes the script fail after it wrote the first update.
    await probe.set(laneListKey(prefix, 'b:chat:7', 'updates'), 'not a list');
    const batch = [
      { bot: 'b', updateId: 1, update: message(1, 6), lane: 'chat:6' },
      { bot: 'b', updateId: 2, update: message(2, 7), lane: 'chat:7' },
    ];
    const outcomes = await Promise.allSettled(batch.map(u => batcher.submit(u)));
    expect(outcomes.map(o => o.status)).toEqual(['rejected', 'rejected']);
    // Telegram retries both (each got 503); the writes that landed make the retry a no-op for them.
    await probe.del(laneListKey(prefix, 'b:chat:7', 'updates'));
    await Promise.all(batch.map(u => batcher.submit(u)));
    expect(await queues.updates.getJobCountByTypes('waiting')).toBe(2);
    expect((await laneJobIds(probe, prefix, 'b:chat:7')).updates).toEqual([updateJobId('b', 2)]);
    expect(await laneInvariantViolations(probe, prefix)).toEqual([]);
  });

  it('should reject every waiter of a batch when Redis is gone', async () => {
    const batcher = new UpdateBatcher({ queue: queues.updates, redis, prefix });
    await server.kill();
    try {
      const outcomes = await Promise.allSettled(
        [1, 2, 3].map(id =>
          batcher.submit({ bot: 'b', updateId: id, update: message(id, 1), lane: 'chat:1' }),
        ),
      );
      expect(outcomes.map(o => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    } finally {
      await server.restart();
    }
  });
});
