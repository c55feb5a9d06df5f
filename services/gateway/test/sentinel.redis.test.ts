// The gateway on a real Redis Sentinel deployment (master, 2 replicas, 3 sentinels): the master is
// killed with SIGKILL in the middle of a burst; the sentinels promote a replica, the gateway follows
// it, and every update it answered 200 is on the new master and processed exactly once.
import { createWorkerConnection } from '@telegram-receiver/core';
import { RedisSentinelSet, randomName, waitFor } from '@telegram-receiver/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectEachProcessedOnce, startBurst } from './failover-burst.ts';
import { startGatewayProcess } from './gateway-process.ts';
import { BOT_A } from './harness.ts';

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
      try {
        const { ids, acked, done } = startBurst(gateway.url, 400);
        await waitFor(() => acked.size >= 100);
        const failover = await set.killMasterAndWaitForFailover();
        await done;
        expect(failover.to).not.toBe(failover.from);
        expect(acked.size).toBe(ids.length);

        // Every acknowledged update is on the new master, and a worker processes each exactly once.
        const connection = createWorkerConnection({
          url: 'redis://127.0.0.1:1/0',
          sentinels: set.sentinels,
          sentinelMaster: set.masterName,
          name: 'sentinel-test-worker',
        });
        connection.on('error', () => undefined);
        try {
          await expectEachProcessedOnce(connection, prefix, ids);
        } finally {
          connection.disconnect();
        }
      } finally {
        await gateway.service.stop();
      }
    },
  );
});
