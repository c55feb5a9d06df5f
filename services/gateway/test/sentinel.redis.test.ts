// The gateway on a real Redis Sentinel deployment (master, 2 replicas, 3 sentinels): the master is
// killed with SIGKILL in the middle of a burst; the sentinels promote a replica, the gateway follows
// it, and every update it answered 200 is on the new master and processed exactly once.
import { QUEUE_NAMES, createWorkerConnection } from '@telegram-receiver/core';
import { RedisSentinelSet, deliverUntilAccepted, randomName, waitFor } from '@telegram-receiver/testing';
import { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayProcess } from './gateway-process.ts';
import { BOT_A, messageUpdate } from './harness.ts';

let set: RedisSentinelSet;
beforeAll(async () => {
  set = await RedisSentinelSet.start({ replicas: 2, sentinels: 3 });
}, 90_000);
afterAll(async () => {
  await set?.close();
});

describe('gateway on Redis Sentinel', () => {
  it(
    'should lose no acknowledged update when the master is killed during a burst',
    { timeout: 180_000 },
    async () => {
      const prefix = randomName('sent');
      const sentinels = set.sentinels.map(s => `${s.host}:${s.port}`).join(',');
      const gateway = await startGatewayProcess(
        // REDIS_URL's host is not used with sentinels (port 1 answers nothing): the master is asked of them.
        { url: 'redis://127.0.0.1:1/0' },
        {
          REDIS_SENTINELS: sentinels,
          REDIS_SENTINEL_MASTER: set.masterName,
          REDIS_WAIT_REPLICAS: '1',
          REDIS_WAIT_TIMEOUT_MS: '500',
          QUEUE_PREFIX: prefix,
          TELEGRAM_BOT_TOKEN: BOT_A.token,
          TELEGRAM_WEBHOOK_SECRET: BOT_A.webhookSecret,
        },
      );
      const acked = new Set<number>();
      // One chat per update: every update is its own lane's head, so a plain BullMQ worker sees them all.
      const deliver = async (id: number) => {
        const update = messageUpdate(id, 100_000 + id);
        await deliverUntilAccepted({
          url: `${gateway.url}/telegram/webhook`,
          secret: BOT_A.webhookSecret,
          update,
        });
        acked.add(id);
      };
      try {
        const ids = Array.from({ length: 400 }, (_, i) => i + 1);
        let next = 0;
        const senders = Array.from({ length: 8 }, async () => {
          while (next < ids.length) await deliver(ids[next++] as number);
        });
        await waitFor(() => acked.size >= 100);
        const failover = await set.killMasterAndWaitForFailover();
        await Promise.all(senders);
        expect(failover.to).not.toBe(failover.from);
        expect(acked.size).toBe(ids.length);

        // Every acknowledged update is on the new master, and a worker processes each exactly once.
        const processed = new Map<number, number>();
        const connection = createWorkerConnection({
          url: 'redis://127.0.0.1:1/0',
          sentinels: set.sentinels,
          sentinelMaster: set.masterName,
          name: 'sentinel-test-worker',
        });
        connection.on('error', () => undefined);
        const worker = new Worker(
          QUEUE_NAMES.updates,
          async job => {
            const id = (job.data as { update: { update_id: number } }).update.update_id;
            processed.set(id, (processed.get(id) ?? 0) + 1);
          },
          { connection, prefix, concurrency: 16 },
        );
        try {
          await waitFor(() => processed.size === ids.length, { timeoutMs: 60_000 });
          expect([...processed.values()].every(n => n === 1)).toBe(true);
          expect([...processed.keys()].sort((a, b) => a - b)).toEqual(ids);
        } finally {
          await worker.close();
          connection.disconnect();
        }
      } finally {
        await gateway.service.stop();
      }
    },
  );
});
