// The gateway on a real Redis Cluster with a replica per master (6 redis-server processes): the
// master of the queue prefix's slot is killed with SIGKILL in the middle of a burst; the cluster
// elects its replica, the gateway follows the new topology, and every update it answered 200 is on
// the new master (REDIS_WAIT_REPLICAS=1: acknowledged only once a replica had it) and runs exactly
// once. Until the killed node rejoins as a replica, the shard has none, and the webhook answers 503.
import { QUEUE_NAMES, createWorkerConnection } from '@telegram-receiver/core';
import { RedisClusterSet, parsePrometheusText, randomName, waitFor } from '@telegram-receiver/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectEachProcessedOnce, startBurst } from './failover-burst.ts';
import { startGatewayProcess } from './gateway-process.ts';
import { BOT_A } from './harness.ts';

let set: RedisClusterSet;
beforeAll(async () => {
  set = await RedisClusterSet.start({ masters: 3, replicasPerMaster: 1 });
}, 90_000);
afterAll(async () => {
  await set?.close();
});

describe('gateway on a Redis Cluster with replicas', () => {
  it(
    'should lose no acknowledged update when the master of its slot is killed during a burst',
    { timeout: 180_000 },
    async () => {
      const prefix = `{${randomName('clf')}}`;
      const nodes = set.nodes.map(n => `${n.host}:${n.port}`).join(',');
      const gateway = await startGatewayProcess(
        // REDIS_URL's host is not used with a cluster: the seed nodes are.
        { url: 'redis://127.0.0.1:1/0' },
        {
          REDIS_CLUSTER_NODES: nodes,
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
        const failover = await set.killMasterOfAndWaitForFailover(`${prefix}:${QUEUE_NAMES.updates}:wait`);
        // The promoted replica has no replica of its own: WAIT 1 cannot be met, so the webhook answers
        // 503 (Telegram sends again) until the killed node is back, as Kubernetes would restart it,
        // and rejoins as the new master's replica.
        const unavailable = async () => {
          const res = await fetch(`http://127.0.0.1:${gateway.opsPort}/metrics`);
          const sample = parsePrometheusText(await res.text()).find(
            m =>
              m.name === 'telegram_receiver_webhook_rejections_total' &&
              m.labels.reason === 'redis_unavailable',
          );
          return sample?.value ?? 0;
        };
        const ackedAtFailover = acked.size;
        const refusedAtFailover = await unavailable();
        await waitFor(async () => (await unavailable()) >= refusedAtFailover + 20);
        expect(acked.size).toBe(ackedAtFailover);
        await set.restartAndWaitForSync(failover.from);
        await done;
        expect(failover.to).not.toBe(failover.from);
        expect(acked.size).toBe(ids.length);

        // Every acknowledged update is on the new master, and a worker processes each exactly once.
        const connection = createWorkerConnection({
          url: 'redis://127.0.0.1:1/0',
          clusterNodes: set.nodes,
          name: 'cluster-failover-test-worker',
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
