// Conformance of the webhook's bulk writer with BullMQ: for the same update, the writer must leave
// Redis exactly as `Queue.add` does (job hash, dedup key, events, wait list, marker), and BullMQ's
// own Worker must process what it wrote. Re-run this after any bullmq upgrade.
import { Worker, type Job } from 'bullmq';
import {
  JOB_NAMES,
  UPDATE_DEDUP_TTL_MS,
  createQueues,
  updateJobId,
  type UpdateJobData,
} from '@telegram-receiver/core';
import { RedisServer, laneInvariantViolations, laneJobIds, randomName } from '@telegram-receiver/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpdateWriter } from '../src/update-writer.ts';

const update = {
  update_id: 9001,
  message: { message_id: 7, date: 1, chat: { id: 55, type: 'private' as const }, text: 'hi <b>&' },
};

describe('UpdateWriter.write(batch)', () => {
  let server: RedisServer;
  let redis: Redis;

  beforeAll(async () => {
    server = await RedisServer.start({ appendOnly: false });
    redis = new Redis(server.url, { maxRetriesPerRequest: null });
  });
  afterAll(async () => {
    redis.disconnect();
    await server.close();
  });

  /** Everything BullMQ keeps for one job, with the varying parts (times, stream ids) normalised. */
  async function snapshot(prefix: string, jobId: string) {
    const base = `${prefix}:updates`;
    const hash = await redis.hgetall(`${base}:${jobId}`);
    const events = await redis.xrange(`${base}:events`, '-', '+');
    return {
      fields: Object.keys(hash).sort(),
      name: hash.name,
      data: JSON.parse(hash.data ?? '{}') as Record<string, unknown>,
      opts: JSON.parse(hash.opts ?? '{}') as Record<string, unknown>,
      delay: hash.delay,
      priority: hash.priority,
      deid: hash.deid,
      wait: await redis.lrange(`${base}:wait`, 0, -1),
      marker: await redis.zrange(`${base}:marker`, 0, -1, 'WITHSCORES'),
      dedup: await redis.get(`${base}:de:${jobId}`),
      dedupTtlOk: (await redis.pttl(`${base}:de:${jobId}`)) > UPDATE_DEDUP_TTL_MS - 60_000,
      events: events.map(([, fields]) => fields.filter((_, i) => i % 2 === 0 || fields[i - 1] !== 'name')),
      maxLenEvents: await redis.hget(`${base}:meta`, 'opts.maxLenEvents'),
      idCounter: await redis.get(`${base}:id`),
    };
  }

  it('should store a job exactly as Queue.add does', async () => {
    const [bullPrefix, ourPrefix] = [randomName('bull'), randomName('ours')];
    const jobId = updateJobId('bot', update.update_id);
    const data: UpdateJobData = { bot: 'bot', update, lane: 'chat:55', receivedAt: 1 };
    const bull = createQueues(redis, bullPrefix);
    await bull.updates.add(JOB_NAMES.telegramUpdate, data, {
      jobId,
      deduplication: { id: jobId, ttl: UPDATE_DEDUP_TTL_MS },
    });
    const ours = createQueues(redis, ourPrefix);
    const writer = new UpdateWriter({ queue: ours.updates, redis, prefix: ourPrefix });
    expect(await writer.write([{ bot: 'bot', updateId: update.update_id, update, lane: 'chat:55' }])).toEqual(
      [true],
    );

    const expected = await snapshot(bullPrefix, jobId);
    const actual = await snapshot(ourPrefix, jobId);
    expect({ ...actual, data: { ...actual.data, receivedAt: 1 } }).toEqual(expected);
    expect(await laneJobIds(redis, ourPrefix, 'bot:chat:55')).toEqual({ updates: [jobId], callbacks: [] });
    expect(await laneInvariantViolations(redis, ourPrefix)).toEqual([]);

    // BullMQ reads both jobs back identically (options decoded, data parsed).
    const [a, b] = await Promise.all([bull.updates.getJob(jobId), ours.updates.getJob(jobId)]);
    expect(b?.opts).toEqual(a?.opts);
    expect(b?.name).toBe(a?.name);
    await Promise.all([bull.updates.obliterate({ force: true }), ours.updates.obliterate({ force: true })]);
    await Promise.all([
      bull.updates.close(),
      bull.callbacks.close(),
      ours.updates.close(),
      ours.callbacks.close(),
    ]);
  });

  it('should treat a re-delivery as BullMQ does: no second job, and say it was not new', async () => {
    const prefix = randomName('ours');
    const queues = createQueues(redis, prefix);
    const writer = new UpdateWriter({ queue: queues.updates, redis, prefix });
    const u = { bot: 'bot', updateId: 1, update: { update_id: 1 }, lane: null };
    expect(await writer.write([u, u])).toEqual([true, false]);
    expect(await writer.write([u])).toEqual([false]);
    expect(await queues.updates.getJobCountByTypes('waiting')).toBe(1);
    // Still deduplicated once the finished job has been cleaned up (its hash gone, as age-based
    // removal leaves it): Telegram may re-deliver for 24 h.
    await redis.del(`${prefix}:updates:${updateJobId('bot', 1)}`);
    expect(await writer.write([u])).toEqual([false]);
    expect(await redis.exists(`${prefix}:updates:${updateJobId('bot', 1)}`)).toBe(0);
    await queues.updates.obliterate({ force: true });
    await Promise.all([queues.updates.close(), queues.callbacks.close()]);
  });

  it('should not wake workers of a paused queue, and keep the job waiting', async () => {
    const prefix = randomName('ours');
    const queues = createQueues(redis, prefix);
    await queues.updates.pause();
    const writer = new UpdateWriter({ queue: queues.updates, redis, prefix });
    await writer.write([{ bot: 'bot', updateId: 2, update: { update_id: 2 }, lane: null }]);
    expect(await redis.zcard(`${prefix}:updates:marker`)).toBe(0);
    expect(await queues.updates.getWaitingCount()).toBe(1);
    await queues.updates.obliterate({ force: true });
    await Promise.all([queues.updates.close(), queues.callbacks.close()]);
  });

  it("should hand BullMQ's Worker jobs it processes with the data and options given", async () => {
    const prefix = randomName('ours');
    const queues = createQueues(redis, prefix);
    const writer = new UpdateWriter({ queue: queues.updates, redis, prefix });
    const seen: Job<UpdateJobData>[] = [];
    const done = new Promise<void>(resolve => {
      const worker = new Worker<UpdateJobData>(
        'updates',
        async job => {
          seen.push(job);
          return 'ok';
        },
        { connection: redis.duplicate(), prefix },
      );
      worker.on('completed', () => {
        if (seen.length === 3) void worker.close().then(resolve);
      });
    });
    await writer.write(
      [1, 2, 3].map(id => ({ bot: 'bot', updateId: id, update: { update_id: id }, lane: `chat:${id}` })),
    );
    await done;
    expect(seen.map(j => j.id)).toEqual(['bot-1', 'bot-2', 'bot-3']);
    expect(seen[0]!.data).toMatchObject({ bot: 'bot', update: { update_id: 1 }, lane: 'chat:1' });
    expect(seen[0]!.opts).toMatchObject({ attempts: 5, backoff: { type: 'exponential', delay: 1000 } });
    expect(await queues.updates.getJobCountByTypes('completed')).toBe(3);
    await queues.updates.obliterate({ force: true });
    await Promise.all([queues.updates.close(), queues.callbacks.close()]);
  });
});
