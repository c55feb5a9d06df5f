// The connection factories on a real Redis Cluster (3 masters): they return a Cluster client when
// given seed nodes; the producer's fail-fast semantics hold there too (no offline queue before the
// cluster is ready, a bounded wait once its nodes are gone), and the worker's connection waits.
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisClusterSet, randomName, waitFor } from '@telegram-receiver/testing';
import {
  closeConnection,
  createProducerConnection,
  createWorkerConnection,
  redisEndpointOf,
} from '../src/redis-connection.ts';
import { loadConfig, commonEnv } from '../src/config.ts';

let set: RedisClusterSet;
beforeAll(async () => {
  set = await RedisClusterSet.start({ masters: 3 });
}, 60_000);
afterAll(async () => {
  await set?.close();
});

function endpoint() {
  return redisEndpointOf(
    loadConfig(commonEnv, {
      REDIS_URL: 'redis://127.0.0.1:1',
      REDIS_CLUSTER_NODES: set.nodes.map(n => `${n.host}:${n.port}`).join(','),
      QUEUE_PREFIX: '{tr}',
    }),
  );
}

describe('createProducerConnection (Redis Cluster)', () => {
  it('should return a Cluster client that reaches every slot, named on every node', async () => {
    const redis = createProducerConnection({ ...endpoint(), name: 'cluster-producer' });
    redis.on('error', () => undefined);
    try {
      expect(redis).toBeInstanceOf(Cluster);
      await new Promise(resolve => redis.once('ready', resolve));
      const prefix = randomName('k');
      for (let i = 0; i < 30; i++) await redis.set(`${prefix}:${i}`, String(i), 'EX', 60);
      expect(await redis.get(`${prefix}:29`)).toBe('29');
      for (const node of (redis as Cluster).nodes('master')) {
        expect(await node.client('GETNAME')).toBe('cluster-producer');
      }
    } finally {
      await closeConnection(redis);
    }
    // QUIT went to every node: the client ends without a hard disconnect.
    await waitFor(() => redis.status === 'end', { message: 'the cluster client to end' });
  });

  it('should refuse a command at once while the cluster is not ready (no offline queue)', async () => {
    const redis = createProducerConnection({ ...endpoint(), name: 'cluster-producer-early' });
    redis.on('error', () => undefined);
    try {
      const started = performance.now();
      await expect(redis.set('{tr}:early', '1')).rejects.toThrow(/isn't ready|enableOfflineQueue/);
      expect(performance.now() - started).toBeLessThan(100);
    } finally {
      redis.disconnect();
    }
  });

  it('should fail a command within its timeout when the cluster is gone, where a worker connection waits', async () => {
    const producer = createProducerConnection({
      ...endpoint(),
      name: 'cluster-producer-gone',
      commandTimeoutMs: 1000,
    });
    const worker = createWorkerConnection({ ...endpoint(), name: 'cluster-worker-gone' });
    for (const c of [producer, worker]) c.on('error', () => undefined);
    try {
      await Promise.all([producer, worker].map(c => new Promise(resolve => c.once('ready', resolve))));
      await Promise.all(set.servers.map(s => s.kill()));
      const started = performance.now();
      await expect(producer.set('{tr}:gone', '1')).rejects.toThrow();
      expect(performance.now() - started).toBeLessThan(2500);
      // The worker's command is still waiting for the cluster (BullMQ's connections must not give up).
      let settled = false;
      void worker
        .get('{tr}:gone')
        .finally(() => (settled = true))
        .catch(() => undefined);
      await new Promise(resolve => setTimeout(resolve, 1500));
      expect(settled).toBe(false);
    } finally {
      producer.disconnect();
      worker.disconnect();
    }
  });
});
