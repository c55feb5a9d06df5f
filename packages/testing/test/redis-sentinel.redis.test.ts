import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisSentinelSet } from '../src/redis-sentinel.ts';
import { waitFor } from '../src/wait-for.ts';

let set: RedisSentinelSet;
beforeAll(async () => {
  set = await RedisSentinelSet.start({ replicas: 1, sentinels: 3 });
}, 60_000);
afterAll(async () => {
  await set?.close();
});

describe('RedisSentinelSet', () => {
  it(
    'should serve a client through the sentinels, then fail over to the replica when the master is killed',
    { timeout: 60_000 },
    async () => {
      const client = new Redis({
        sentinels: set.sentinels,
        name: set.masterName,
        maxRetriesPerRequest: null,
      });
      client.on('error', () => undefined);
      try {
        await client.set('before', 'failover');
        // The replica has it before the master dies (WAIT: acknowledged by one replica).
        expect(await client.wait(1, 5000)).toBe(1);
        const { from, to } = await set.killMasterAndWaitForFailover();
        expect(to).not.toBe(from);
        // The client follows the new master by asking the sentinels again.
        await waitFor(async () => (await client.get('before')) === 'failover', { timeoutMs: 20_000 });
        await client.set('after', 'ok');
        expect(await client.get('after')).toBe('ok');
      } finally {
        client.disconnect();
      }
    },
  );
});
