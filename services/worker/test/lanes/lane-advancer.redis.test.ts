import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_JOB_OPTIONS,
  LaneWriter,
  createQueues,
  closeQueues,
  encodeJobOptions,
  laneIndexKey,
  parkedCountKey,
  type Queues,
  type QueueName,
} from '@telegram-receiver/core';
import {
  RedisServer,
  laneInvariantViolations,
  laneJobIds,
  randomName,
  waitFor,
} from '@telegram-receiver/testing';
import { LaneAdvancer } from '../../src/lanes/lane-advancer.ts';

interface Item {
  queue: QueueName;
  jobId: string;
  chat: number | null;
}

describe('LaneAdvancer', () => {
  let server: RedisServer;
  let redis: Redis;
  let prefix: string;
  let queues: Queues;
  let writers: Record<QueueName, LaneWriter>;
  let workers: Worker[] = [];

  beforeAll(async () => {
    server = await RedisServer.start({ appendOnly: false });
    redis = new Redis(server.url, { maxRetriesPerRequest: null });
  });
  afterAll(async () => {
    redis.disconnect();
    await server.close();
  });
  afterEach(async () => {
    await Promise.all(workers.map(w => w.close(true)));
    workers = [];
    await closeQueues(queues);
  });

  function setUp(): LaneAdvancer {
    prefix = `{${randomName('lanes')}}`;
    queues = createQueues(redis, prefix);
    writers = {
      updates: new LaneWriter({ queue: queues.updates, redis, prefix }),
      callbacks: new LaneWriter({ queue: queues.callbacks, redis, prefix }),
    };
    return new LaneAdvancer({ redis, queues, prefix });
  }

  /** Append items one by one, as the gateway accepts them (each job fails `failures` times first). */
  async function append(items: Item[], opts: { attempts?: number } = {}): Promise<void> {
    for (const item of items) {
      const options = encodeJobOptions({
        ...DEFAULT_JOB_OPTIONS,
        jobId: item.jobId,
        attempts: opts.attempts ?? 3,
        backoff: { type: 'fixed', delay: 20 },
      });
      const lane = item.chat === null ? null : { bot: 'b', lane: `chat:${item.chat}` };
      const data = JSON.stringify({ bot: 'b', lane: lane?.lane ?? null });
      await writers[item.queue].append(
        item.queue === 'updates' ? 'telegram-update' : 'cursor-runner-callback',
        [{ jobId: item.jobId, data, opts: JSON.stringify(options), lane }],
      );
    }
  }

  /** Start `n` workers per queue that log each run and run `fn`; advancing is attached. */
  function startWorkers(
    lanes: LaneAdvancer,
    n: number,
    fn: (job: Job) => Promise<void> = async () => undefined,
    attach = true,
  ): string[] {
    const log: string[] = [];
    for (const queue of ['updates', 'callbacks'] as const) {
      for (let i = 0; i < n; i++) {
        const worker = new Worker(
          queue,
          async job => {
            log.push(`start ${job.id}`);
            await fn(job);
            log.push(`end ${job.id}`);
          },
          { connection: redis.duplicate(), prefix, concurrency: 8 },
        );
        if (attach) lanes.attach(queue, worker);
        workers.push(worker);
      }
    }
    return log;
  }

  const settled = async () =>
    await waitFor(
      async () =>
        (await redis.zcard(laneIndexKey(prefix, 'updates'))) +
          (await redis.zcard(laneIndexKey(prefix, 'callbacks'))) ===
        0,
      { timeoutMs: 10_000, message: 'every lane to empty' },
    );

  it("should run one chat's updates and callbacks strictly in arrival order across workers, and chats in parallel", async () => {
    const lanes = setUp();
    const items: Item[] = [];
    for (let k = 0; k < 6; k++) {
      for (const chat of [1, 2, 3]) {
        items.push({ queue: k % 2 === 0 ? 'updates' : 'callbacks', jobId: `c${chat}-${k}`, chat });
      }
    }
    await append(items);
    // Only the three heads are BullMQ jobs; the rest are parked, in no BullMQ list.
    expect(await queues.updates.getJobCounts('wait', 'delayed')).toEqual({ wait: 3, delayed: 0 });
    expect(await queues.callbacks.getJobCounts('wait', 'delayed')).toEqual({ wait: 0, delayed: 0 });
    expect(await redis.get(parkedCountKey(prefix, 'updates'))).toBe('6');
    expect(await redis.get(parkedCountKey(prefix, 'callbacks'))).toBe('9');
    expect(await redis.zcard(laneIndexKey(prefix, 'updates'))).toBe(3);
    expect(await redis.zcard(laneIndexKey(prefix, 'callbacks'))).toBe(3);
    expect(await laneInvariantViolations(redis, prefix)).toEqual([]);

    let running = 0;
    let parallel = 0;
    const log = startWorkers(lanes, 3, async () => {
      running++;
      parallel = Math.max(parallel, running);
      await new Promise(resolve => setTimeout(resolve, 15));
      running--;
    });
    await settled();
    for (const chat of [1, 2, 3]) {
      const mine = log.filter(line => line.includes(` c${chat}-`));
      expect(mine).toEqual(
        Array.from({ length: 6 }, (_, k) => [`start c${chat}-${k}`, `end c${chat}-${k}`]).flat(),
      );
    }
    expect(parallel).toBeGreaterThan(1);
    // Nothing was ever fetched only to be put back: no job went through `delayed`.
    const events = await redis.xrange(`${prefix}:updates:events`, '-', '+');
    expect(events.some(([, f]) => f.includes('delayed'))).toBe(false);
    expect(await redis.exists(parkedCountKey(prefix, 'updates'), parkedCountKey(prefix, 'callbacks'))).toBe(
      0,
    );
    expect(await laneInvariantViolations(redis, prefix)).toEqual([]);
    expect(await redis.keys(`${prefix}:lane:*`)).toEqual([]);
  });

  it('should keep a retried head in front of its chat until it succeeds', async () => {
    const lanes = setUp();
    await append([
      { queue: 'updates', jobId: 'u1', chat: 5 },
      { queue: 'callbacks', jobId: 'c1', chat: 5 },
      { queue: 'updates', jobId: 'u2', chat: 5 },
    ]);
    const log = startWorkers(lanes, 2, async job => {
      if (job.id === 'u1' && job.attemptsMade < 2) {
        // While the head retries, the lane index still dates the chat from it, and the rest stay parked.
        expect(await redis.zscore(laneIndexKey(prefix, 'callbacks'), 'b:chat:5')).not.toBeNull();
        throw new Error('transient');
      }
    });
    await settled();
    expect(log.filter(l => l.startsWith('end'))).toEqual(['end u1', 'end c1', 'end u2']);
    expect(log.filter(l => l === 'start u1')).toHaveLength(3);
    expect(await laneInvariantViolations(redis, prefix)).toEqual([]);
  });

  it('should move a poison head aside after its attempts, keep its data, and let its chat go on', async () => {
    const lanes = setUp();
    await append(
      [
        { queue: 'updates', jobId: 'poison', chat: 7 },
        { queue: 'callbacks', jobId: 'next', chat: 7 },
      ],
      { attempts: 2 },
    );
    const log = startWorkers(lanes, 1, async job => {
      if (job.id === 'poison') throw new Error('always fails');
    });
    await settled();
    expect(log.filter(l => l.startsWith('end'))).toEqual(['end next']);
    const failed = await queues.updates.getJob('poison');
    expect(await failed?.getState()).toBe('failed');
    expect(failed?.data).toEqual({ bot: 'b', lane: 'chat:7' });
    expect(await laneInvariantViolations(redis, prefix)).toEqual([]);
  });

  it('should release a lane whose advance was missed on the next sweep', async () => {
    const lanes = setUp();
    await append([
      { queue: 'updates', jobId: 'a', chat: 9 },
      { queue: 'updates', jobId: 'b', chat: 9 },
      { queue: 'callbacks', jobId: 'solo', chat: null },
    ]);
    // Workers that never advance (as if each died right after completing its job).
    const log = startWorkers(lanes, 1, undefined, false);
    await waitFor(() => log.includes('end a') && log.includes('end solo'));
    await waitFor(async () => (await queues.updates.getCompletedCount()) === 1);
    expect(await laneJobIds(redis, prefix, 'b:chat:9')).toEqual({ updates: ['a', 'b'], callbacks: [] });
    expect(await lanes.sweep()).toBe(2);
    await waitFor(() => log.includes('end b'));
    await waitFor(async () => (await queues.updates.getCompletedCount()) === 2);
    expect(await lanes.sweep()).toBe(1);
    expect(await laneInvariantViolations(redis, prefix)).toEqual([]);
    expect(await redis.zcard(laneIndexKey(prefix, 'updates'))).toBe(0);
    expect(await redis.zcard(laneIndexKey(prefix, 'callbacks'))).toBe(0);
  });

  it('should ignore an advance for a job that is not finished or already left', async () => {
    const lanes = setUp();
    await append([
      { queue: 'updates', jobId: 'x', chat: 11 },
      { queue: 'updates', jobId: 'y', chat: 11 },
    ]);
    const ref = { id: 'x', data: { bot: 'b', lane: 'chat:11' } };
    expect(await lanes.advance('updates', ref)).toBe(false);
    expect(await lanes.advance('updates', { id: 'y', data: ref.data })).toBe(false);
    expect(await laneJobIds(redis, prefix, 'b:chat:11')).toEqual({ updates: ['x', 'y'], callbacks: [] });
    expect(await laneInvariantViolations(redis, prefix)).toEqual([]);
  });
});
