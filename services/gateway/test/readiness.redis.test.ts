// ReadinessProbe against a private redis-server: a real write, cached, shared between callers.
import { RedisServer } from '@telegram-receiver/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReadinessProbe } from '../src/readiness.ts';

let server: RedisServer;
let redis: Redis;

beforeAll(async () => {
  server = await RedisServer.start();
  redis = new Redis(server.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  redis.on('error', () => undefined);
  await new Promise(resolve => redis.once('ready', resolve));
});
afterAll(async () => {
  redis.disconnect();
  await server.close();
});

describe('ReadinessProbe.check()', () => {
  it('should write the probe key with a short TTL', async () => {
    const probe = new ReadinessProbe({ redis, key: 'rp:ready:a', cacheMs: 0 });
    expect(await probe.check()).toEqual({ ready: true });
    const ttl = await redis.pttl('rp:ready:a');
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(5000);
  });

  it('should share one probe between concurrent callers and cache the answer', async () => {
    const probe = new ReadinessProbe({ redis, key: 'rp:ready:b', cacheMs: 60_000 });
    const before = Number((await redis.info('commandstats')).match(/cmdstat_set:calls=(\d+)/)?.[1] ?? 0);
    const answers = await Promise.all(Array.from({ length: 20 }, () => probe.check()));
    await probe.check();
    const after = Number((await redis.info('commandstats')).match(/cmdstat_set:calls=(\d+)/)?.[1] ?? 0);
    expect(answers.every(a => a.ready)).toBe(true);
    expect(after - before).toBe(1);
  });

  it('should answer shutting_down after drain(), without touching Redis', async () => {
    const probe = new ReadinessProbe({ redis, key: 'rp:ready:c', cacheMs: 0 });
    probe.drain();
    expect(await probe.check()).toEqual({ ready: false, reason: 'shutting_down' });
    expect(await redis.exists('rp:ready:c')).toBe(0);
  });
});
