import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisClusterSet } from '../src/redis-cluster.ts';

let set: RedisClusterSet;
beforeAll(async () => {
  set = await RedisClusterSet.start({ masters: 3 });
}, 60_000);
afterAll(async () => {
  await set?.close();
});

describe('RedisClusterSet', () => {
  it('should spread keys over 3 masters and keep one hash tag in one slot', async () => {
    const cluster = new Cluster(set.nodes, { redisOptions: { maxRetriesPerRequest: 3 } });
    cluster.on('error', () => undefined);
    try {
      for (let i = 0; i < 50; i++) await cluster.set(`k${i}`, String(i));
      const owners = new Set<string>();
      for (const node of cluster.nodes('master')) {
        if ((await node.dbsize()) > 0) owners.add(`${node.options.port}`);
      }
      expect(owners.size).toBe(3);
      // Keys with one hash tag may be used together in one script.
      await cluster.eval(
        "redis.call('SET', KEYS[1], 'a'); return redis.call('SET', KEYS[2], 'b')",
        2,
        '{tr}:x',
        '{tr}:y',
      );
      expect(await cluster.mget('{tr}:x', '{tr}:y')).toEqual(['a', 'b']);
      // And keys of different slots may not: the cluster refuses the script.
      await expect(cluster.eval("return redis.call('GET', KEYS[1])", 2, 'k1', 'k2')).rejects.toThrow(
        /CROSSSLOT/,
      );
    } finally {
      cluster.disconnect();
    }
  });
});
