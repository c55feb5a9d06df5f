// Pins the BullMQ behaviour the gateway's "same update twice → one job" relies on: a throttle-mode
// deduplication id keeps rejecting duplicates after the first job has completed and been removed.
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer, randomName } from '@telegram-receiver/testing';

describe('Queue.add(name, data, { deduplication: { id, ttl } })', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await RedisServer.start({ appendOnly: false });
  });
  afterAll(async () => {
    await server.close();
  });

  it('should ignore a duplicate after the original completed and was removed', async () => {
    const connection = new Redis(server.url, { maxRetriesPerRequest: null });
    const name = randomName('q');
    const queue = new Queue(name, { connection });
    const opts = { jobId: 'bot-1', deduplication: { id: 'bot-1', ttl: 60_000 }, removeOnComplete: true };
    await queue.add('u', { n: 1 }, opts);
    const done = new Promise<void>(resolve => {
      const worker = new Worker(name, async () => 'ok', { connection: connection.duplicate() });
      worker.on('completed', () => {
        void worker.close().then(resolve);
      });
    });
    await done;
    expect(await queue.getJob('bot-1')).toBeUndefined();
    await queue.add('u', { n: 2 }, opts);
    const counts = await queue.getJobCounts('waiting', 'active', 'completed');
    expect(counts).toEqual({ waiting: 0, active: 0, completed: 0 });
    await queue.obliterate({ force: true });
    await queue.close();
    connection.disconnect();
  });
});
