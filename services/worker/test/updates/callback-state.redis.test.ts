import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callbackStateKey,
  closeConnection,
  createWorkerConnection,
  legacyCallbackStateKey,
} from '@telegram-receiver/core';
import { RedisServer, randomName } from '@telegram-receiver/testing';
import {
  deleteCallbackState,
  loadCallbackState,
  saveCallbackState,
  type CallbackState,
} from '../../src/updates/callback-state.ts';

const state: CallbackState = {
  chat_id: -1001234567890,
  message_id: 17,
  prompt: 'fix <it> & ship',
  original_was_audio: true,
  created_at: '2026-01-01T00:00:00.000Z',
  bot: 'main',
};

const P = 'tr-cbstate';

describe('callback state', () => {
  let server: RedisServer;
  let redis: Redis;
  beforeAll(async () => {
    server = await RedisServer.start({ appendOnly: false });
    redis = createWorkerConnection({ url: server.url, name: 'callback-state-test' });
  });
  afterAll(async () => {
    await closeConnection(redis);
    await server.close();
  });

  describe('callbackStateKey', () => {
    it("should be under QUEUE_PREFIX, and the legacy key the seed's", () => {
      expect(callbackStateKey(P, 'telegram-1-abcd1234')).toBe(`${P}:callback:telegram-1-abcd1234`);
      expect(legacyCallbackStateKey('telegram-1-abcd1234')).toBe(
        'cursor_runner_callback:telegram-1-abcd1234',
      );
    });
  });

  describe("a record written before the upgrade (the seed's key)", () => {
    it('should still be loaded when the prefixed one is missing, and deleted', async () => {
      const id = randomName('legacy');
      await redis.set(legacyCallbackStateKey(id), JSON.stringify(state), 'EX', 60);
      expect(await loadCallbackState(redis, P, id)).toEqual(state);
      expect(await deleteCallbackState(redis, P, id)).toBe(true);
      expect(await redis.exists(legacyCallbackStateKey(id))).toBe(0);
    });

    it('should prefer the prefixed record when both exist', async () => {
      const id = randomName('both');
      await redis.set(legacyCallbackStateKey(id), JSON.stringify({ ...state, prompt: 'old' }), 'EX', 60);
      await saveCallbackState(redis, P, id, state);
      expect((await loadCallbackState(redis, P, id))?.prompt).toBe(state.prompt);
      await deleteCallbackState(redis, P, id);
      expect(await redis.exists(legacyCallbackStateKey(id), callbackStateKey(P, id))).toBe(0);
    });
  });

  describe('saveCallbackState', () => {
    it('should store the JSON record with the TTL, readable back by loadCallbackState', async () => {
      const id = randomName('req');
      await saveCallbackState(redis, P, id, state);
      const ttl = await redis.ttl(callbackStateKey(P, id));
      expect(ttl).toBeGreaterThan(3590);
      expect(ttl).toBeLessThanOrEqual(3600);
      expect(JSON.parse((await redis.get(callbackStateKey(P, id))) as string)).toEqual(state);
      expect(await loadCallbackState(redis, P, id)).toEqual(state);
    });

    it('should honour a custom TTL', async () => {
      const id = randomName('req');
      await saveCallbackState(redis, P, id, state, 60);
      expect(await redis.ttl(callbackStateKey(P, id))).toBeLessThanOrEqual(60);
    });

    it.each([0, -1, 86_401, 1.5, Number.NaN])('should reject TTL %s without writing', async ttl => {
      const id = randomName('req');
      await expect(saveCallbackState(redis, P, id, state, ttl)).rejects.toBeInstanceOf(RangeError);
      expect(await redis.exists(callbackStateKey(P, id))).toBe(0);
    });

    it('should throw when Redis is unreachable (the caller must not call cursor-runner then)', async () => {
      const dead = new Redis({
        port: 1,
        lazyConnect: true,
        enableOfflineQueue: false,
        retryStrategy: () => null,
      });
      dead.on('error', () => undefined);
      await expect(saveCallbackState(dead, P, 'x', state)).rejects.toThrow();
      dead.disconnect();
    });

    it('should keep an oversized prompt whole', async () => {
      const id = randomName('req');
      const big = { ...state, prompt: '🙂'.repeat(200_000) };
      await saveCallbackState(redis, P, id, big);
      expect((await loadCallbackState(redis, P, id))?.prompt).toBe(big.prompt);
    });
  });

  describe('loadCallbackState', () => {
    it('should return null for a missing record', async () => {
      expect(await loadCallbackState(redis, P, randomName('req'))).toBeNull();
    });

    it.each([
      ['not JSON', '{oops'],
      ['JSON null', 'null'],
      ['an array', '[1,2]'],
      ['a string', '"x"'],
      ['a seed record without bot', JSON.stringify({ ...state, bot: undefined })],
      ['an empty bot', JSON.stringify({ ...state, bot: '' })],
      ['a chat id as string', JSON.stringify({ ...state, chat_id: '1' })],
      ['a non-boolean audio flag', JSON.stringify({ ...state, original_was_audio: 'true' })],
      ['a missing prompt', JSON.stringify({ ...state, prompt: undefined })],
    ])('should return null for %s', async (_label, raw) => {
      const id = randomName('req');
      await redis.set(callbackStateKey(P, id), raw, 'EX', 60);
      expect(await loadCallbackState(redis, P, id)).toBeNull();
    });

    it('should drop unknown fields', async () => {
      const id = randomName('req');
      await redis.set(
        callbackStateKey(P, id),
        JSON.stringify({ ...state, token: 'secret', extra: 1 }),
        'EX',
        60,
      );
      expect(await loadCallbackState(redis, P, id)).toEqual(state);
    });

    it('should throw on a Redis error rather than report the request as unknown', async () => {
      const dead = new Redis({
        port: 1,
        lazyConnect: true,
        enableOfflineQueue: false,
        retryStrategy: () => null,
      });
      dead.on('error', () => undefined);
      await expect(loadCallbackState(dead, P, 'x')).rejects.toThrow();
      dead.disconnect();
    });
  });

  describe('deleteCallbackState', () => {
    it('should delete the record and say whether it existed', async () => {
      const id = randomName('req');
      await saveCallbackState(redis, P, id, state);
      expect(await deleteCallbackState(redis, P, id)).toBe(true);
      expect(await loadCallbackState(redis, P, id)).toBeNull();
      expect(await deleteCallbackState(redis, P, id)).toBe(false);
    });
  });
});
