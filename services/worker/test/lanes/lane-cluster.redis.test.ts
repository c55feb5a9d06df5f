// The lane scripts on a real Redis Cluster (3 masters): with a hash-tagged QUEUE_PREFIX every key
// they touch — BullMQ's, the lanes', the lane index and parked counts — lives in one slot.
import { Worker } from 'bullmq';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_JOB_OPTIONS,
  LaneWriter,
  createQueues,
  closeQueues,
  encodeJobOptions,
  laneIndexKey,
  parkedCountKey,
  type QueueName,
} from '@telegram-receiver/core';
import { RedisClusterSet, randomName, waitFor } from '@telegram-receiver/testing';
import { LaneAdvancer } from '../../src/lanes/lane-advancer.ts';

let set: RedisClusterSet;
beforeAll(async () => {
  set = await RedisClusterSet.start({ masters: 3 });
}, 60_000);
afterAll(async () => {
  await set?.close();
});

describe('lanes on Redis Cluster', () => {
  it("should keep each chat's updates and callbacks in order across the cluster's slots", async () => {
    const cluster = new Cluster(set.nodes, { redisOptions: { maxRetriesPerRequest: null } });
    cluster.on('error', () => undefined);
    const prefix = `{${randomName('cl')}}`;
    const queues = createQueues(cluster as never, prefix);
    const lanes = new LaneAdvancer({ redis: cluster, queues, prefix });
    const writers: Record<QueueName, LaneWriter> = {
      updates: new LaneWriter({ queue: queues.updates, redis: cluster, prefix }),
      callbacks: new LaneWriter({ queue: queues.callbacks, redis: cluster, prefix }),
    };
    const log: string[] = [];
    const workers = (['updates', 'callbacks'] as const).map(queue => {
      const worker = new Worker(
        queue,
        async job => {
          log.push(String(job.id));
          await new Promise(resolve => setTimeout(resolve, 5));
        },
        { connection: cluster.duplicate() as never, prefix, concurrency: 8 },
      );
      lanes.attach(queue, worker);
      return worker;
    });
    try {
      for (let k = 0; k < 4; k++) {
        for (const chat of [1, 2, 3, 4]) {
          const queue: QueueName = k % 2 === 0 ? 'updates' : 'callbacks';
          const jobId = `c${chat}-${k}`;
          const opts = JSON.stringify(encodeJobOptions({ ...DEFAULT_JOB_OPTIONS, jobId }));
          const lane = { bot: 'b', lane: `chat:${chat}` };
          await writers[queue].append('job', [
            { jobId, data: JSON.stringify({ bot: 'b', lane: lane.lane }), opts, lane },
          ]);
        }
      }
      await waitFor(() => log.length === 16, { timeoutMs: 20_000, message: 'every job' });
      for (const chat of [1, 2, 3, 4]) {
        expect(log.filter(id => id.startsWith(`c${chat}-`))).toEqual([0, 1, 2, 3].map(k => `c${chat}-${k}`));
      }
      await waitFor(
        async () =>
          (await cluster.zcard(laneIndexKey(prefix, 'updates'))) +
            (await cluster.zcard(laneIndexKey(prefix, 'callbacks'))) ===
          0,
        { timeoutMs: 10_000, message: 'every lane to empty' },
      );
      expect(await cluster.exists(parkedCountKey(prefix, 'updates'))).toBe(0);
      expect(await cluster.exists(parkedCountKey(prefix, 'callbacks'))).toBe(0);
    } finally {
      await Promise.all(workers.map(w => w.close(true)));
      await closeQueues(queues);
      cluster.disconnect();
    }
  }, 60_000);
});
