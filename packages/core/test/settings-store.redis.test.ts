import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer, randomName, waitFor } from '@telegram-receiver/testing';
import {
  DEFAULT_SETTINGS,
  InvalidSettingsError,
  SettingsStore,
  settingsPatchSchema,
} from '../src/settings-store.ts';
import {
  closeConnection,
  createProducerConnection,
  createWorkerConnection,
} from '../src/redis-connection.ts';

// Connections to a Redis the test kills emit 'error' events; they are expected here.
function quiet(redis: Redis): Redis {
  redis.on('error', () => undefined);
  return redis;
}

describe('SettingsStore', () => {
  let server: RedisServer;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    server = await RedisServer.start({ appendOnly: false });
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await server.close();
  });

  /** One "replica": its own command and subscriber connections. */
  async function replica(prefix: string, opts: { cacheTtlMs?: number; readTimeoutMs?: number } = {}) {
    const redis = quiet(createProducerConnection({ url: server.url, name: 'settings-test' }));
    const subscriber = quiet(createWorkerConnection({ url: server.url, name: 'settings-test-sub' }));
    const store = new SettingsStore({ redis, subscriber, prefix, ...opts });
    await store.start();
    // A producer connection fails commands until it is connected: start reading only then.
    await waitFor(() => redis.status === 'ready');
    cleanups.push(async () => {
      await store.close();
      await closeConnection(subscriber);
      await closeConnection(redis);
    });
    return { store, redis, subscriber };
  }

  function nextInvalidation(store: SettingsStore): Promise<void> {
    return new Promise(resolve => {
      const off = store.onInvalidated(() => {
        off();
        resolve();
      });
    });
  }

  describe('get()', () => {
    it('should return the defaults when nothing was ever stored', async () => {
      const { store } = await replica(randomName('p'));
      expect(await store.get()).toEqual(DEFAULT_SETTINGS);
      expect(DEFAULT_SETTINGS.debug).toBe(false);
    });

    it('should ignore unknown fields and read "true"/"1" as on, anything else as off', async () => {
      const prefix = randomName('p');
      const { store, redis } = await replica(prefix);
      await redis.hset(`${prefix}:settings`, 'debug', '1', 'allow_audio_output', 'yes', 'evil', 'x');
      expect(await store.get()).toEqual({ debug: true, allow_audio_output: false });
    });

    it('should return a copy the caller cannot use to change the cache', async () => {
      const { store } = await replica(randomName('p'));
      const first = await store.get();
      first.debug = true;
      expect((await store.get()).debug).toBe(false);
    });

    it('should serve the cache without asking Redis within the TTL', async () => {
      const prefix = randomName('p');
      const { store, redis } = await replica(prefix, { cacheTtlMs: 60_000 });
      await store.get();
      // Written behind the store's back (no publish): invisible until the TTL runs out.
      await redis.hset(`${prefix}:settings`, 'debug', 'true');
      expect((await store.get()).debug).toBe(false);
    });

    it('should share one Redis read between concurrent callers', async () => {
      const prefix = randomName('p');
      const { store, redis } = await replica(prefix);
      await redis.hset(`${prefix}:settings`, 'allow_audio_output', 'true');
      const results = await Promise.all(Array.from({ length: 20 }, () => store.get()));
      expect(new Set(results.map(r => JSON.stringify(r))).size).toBe(1);
      expect(results[0]).toEqual({ debug: false, allow_audio_output: true });
    });
  });

  describe('update()', () => {
    it("should be seen by another replica's get() as soon as the change message arrives", async () => {
      const prefix = randomName('p');
      const a = await replica(prefix, { cacheTtlMs: 60_000 });
      const b = await replica(prefix, { cacheTtlMs: 60_000 });
      expect(await b.store.get()).toEqual(DEFAULT_SETTINGS); // b now caches the defaults for a minute
      const invalidated = nextInvalidation(b.store);
      expect(await a.store.update({ debug: true })).toEqual({ debug: true, allow_audio_output: false });
      await invalidated;
      expect(await b.store.get()).toEqual({ debug: true, allow_audio_output: false });
      // The writer itself sees its change at once, without waiting for its own message.
      expect(await a.store.get()).toEqual({ debug: true, allow_audio_output: false });

      const again = nextInvalidation(b.store);
      await a.store.update({ allow_audio_output: true, debug: false });
      await again;
      expect(await b.store.get()).toEqual({ debug: false, allow_audio_output: true });
    });

    it('should keep the other setting when a patch names only one', async () => {
      const prefix = randomName('p');
      const { store } = await replica(prefix);
      await store.update({ debug: true });
      expect(await store.update({ allow_audio_output: true })).toEqual({
        debug: true,
        allow_audio_output: true,
      });
      expect(await store.update({})).toEqual({ debug: true, allow_audio_output: true });
    });

    it('should not affect a replica with another prefix', async () => {
      const a = await replica(randomName('p'));
      const other = await replica(randomName('p'));
      await a.store.update({ debug: true });
      expect(await other.store.get()).toEqual(DEFAULT_SETTINGS);
    });

    it.each([
      ['an unknown key', { debug: true, admin: true }],
      ['a string value', { debug: 'true' }],
      ['a number value', { allow_audio_output: 1 }],
      ['null', null],
      ['an array', [true]],
      ['a string', 'debug=true'],
      ['a prototype-polluting key', JSON.parse('{"__proto__": {"debug": true}}') as unknown],
      ['missing input', undefined],
    ])('should reject %s with InvalidSettingsError and store nothing', async (_label, patch) => {
      const prefix = randomName('p');
      const { store, redis } = await replica(prefix);
      await expect(store.update(patch)).rejects.toBeInstanceOf(InvalidSettingsError);
      expect(await redis.exists(`${prefix}:settings`)).toBe(0);
      expect(await store.get()).toEqual(DEFAULT_SETTINGS);
    });

    it('should reject an oversized patch without echoing it back whole', async () => {
      const { store } = await replica(randomName('p'));
      const patch = { debug: true, ['x'.repeat(100_000)]: true };
      const error = await store.update(patch).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(InvalidSettingsError);
      expect((error as Error).message.length).toBeLessThan(100_500);
    });

    it('should throw when Redis is unreachable (the admin must know the change was not stored)', async () => {
      const redis = new Redis({
        port: 1,
        lazyConnect: true,
        enableOfflineQueue: false,
        retryStrategy: () => null,
      });
      const subscriber = new Redis({ port: 1, lazyConnect: true });
      const store = new SettingsStore({ redis, subscriber, prefix: randomName('p') });
      await expect(store.update({ debug: true })).rejects.toThrow();
      redis.disconnect();
      subscriber.disconnect();
    });
  });

  describe('settingsPatchSchema', () => {
    it('should accept a partial patch of booleans and reject anything else', () => {
      expect(settingsPatchSchema.safeParse({ debug: false }).success).toBe(true);
      expect(settingsPatchSchema.safeParse({}).success).toBe(true);
      expect(settingsPatchSchema.safeParse({ debug: 'false' }).success).toBe(false);
      expect(settingsPatchSchema.safeParse({ verbose: true }).success).toBe(false);
    });
  });

  describe('get() while Redis is down', () => {
    it('should serve the last known settings, then the fresh ones once Redis is back', async () => {
      const own = await RedisServer.start({ appendOnly: false });
      const prefix = randomName('p');
      const redis = quiet(createProducerConnection({ url: own.url, name: 'settings-down' }));
      const subscriber = quiet(createWorkerConnection({ url: own.url, name: 'settings-down-sub' }));
      const store = new SettingsStore({ redis, subscriber, prefix, cacheTtlMs: 1 });
      try {
        await store.start();
        await waitFor(() => redis.status === 'ready');
        await store.update({ allow_audio_output: true });
        await own.kill();
        // The short TTL has run out by now; Redis is gone, so the last known value is served.
        await expect(store.get()).resolves.toEqual({ debug: false, allow_audio_output: true });
        await own.restart(); // no AOF: Redis comes back empty
        await waitFor(async () => (await redis.ping().catch(() => undefined)) === 'PONG');
        await redis.hset(`${prefix}:settings`, 'debug', 'true');
        expect(
          await waitFor(async () => ((await store.get()).debug ? await store.get() : undefined)),
        ).toEqual({
          debug: true,
          allow_audio_output: false,
        });
      } finally {
        await store.close();
        await closeConnection(subscriber);
        await closeConnection(redis);
        await own.close();
      }
    });

    it('should serve the defaults when Redis was never reachable, and never throw', async () => {
      const redis = new Redis({
        port: 1,
        lazyConnect: true,
        enableOfflineQueue: false,
        retryStrategy: () => null,
      });
      const subscriber = new Redis({ port: 1, lazyConnect: true });
      const store = new SettingsStore({ redis, subscriber, prefix: randomName('p') });
      await expect(store.get()).resolves.toEqual(DEFAULT_SETTINGS);
      redis.disconnect();
      subscriber.disconnect();
    });

    it('should give up after readTimeoutMs on a connection that queues commands while Redis is away', async () => {
      const own = await RedisServer.start({ appendOnly: false });
      const redis = quiet(createWorkerConnection({ url: own.url, name: 'settings-hang' }));
      const subscriber = quiet(createWorkerConnection({ url: own.url, name: 'settings-hang-sub' }));
      const store = new SettingsStore({
        redis,
        subscriber,
        prefix: randomName('p'),
        cacheTtlMs: 1,
        readTimeoutMs: 200,
      });
      try {
        await store.start();
        await store.update({ debug: true });
        await own.kill();
        const started = Date.now();
        await expect(store.get()).resolves.toEqual({ debug: true, allow_audio_output: false });
        expect(Date.now() - started).toBeLessThan(2000);
      } finally {
        await store.close();
        redis.disconnect();
        subscriber.disconnect();
        await own.close();
      }
    });
  });
});
