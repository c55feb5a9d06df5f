import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callbackStateKey, closeConnection, createWorkerConnection } from '@telegram-receiver/core';
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
    it("should be the seed's key without a prefix", () => {
      expect(callbackStateKey('telegram-1-abcd1234')).toBe('cursor_runner_callback:telegram-1-abcd1234');
    });
  });

  describe('saveCallbackState', () => {
    it('should store the JSON record with the TTL, readable back by loadCallbackState', async () => {
      const id = randomName('req');
      await saveCallbackState(redis, id, state);
      const ttl = await redis.ttl(callbackStateKey(id));
      expect(ttl).toBeGreaterThan(3590);
      expect(ttl).toBeLessThanOrEqual(3600);
      expect(JSON.parse((await redis.get(callbackStateKey(id))) as string)).toEqual(state);
      expect(await loadCallbackState(redis, id)).toEqual(state);
    });

    it('should honour a custom TTL', async () => {
      const id = randomName('req');
      await saveCallbackState(redis, id, state, 60);
      expect(await redis.ttl(callbackStateKey(id))).toBeLessThanOrEqual(60);
    });

    it.each([0, -1, 86_401, 1.5, Number.NaN])('should reject TTL %s without writing', async ttl => {
      const id = randomName('req');
      await expect(saveCallbackState(redis, id, state, ttl)).rejects.toBeInstanceOf(RangeError);
      expect(await redis.exists(callbackStateKey(id))).toBe(0);
    });

    it('should throw when Redis is unreachable (the caller must not call cursor-runner then)', async () => {
      const dead = new Redis({
        port: 1,
        lazyConnect: true,
        enableOfflineQueue: false,
        retryStrategy: () => null,
      });
      dead.on('error', () => undefined);
      await expect(saveCallbackState(dead, 'x', state)).rejects.toThrow();
      dead.disconnect();
    });

    it('should keep an oversized prompt whole', async () => {
      const id = randomName('req');
      const big = { ...state, prompt: '🙂'.repeat(200_000) };
      await saveCallbackState(redis, id, big);
      expect((await loadCallbackState(redis, id))?.prompt).toBe(big.prompt);
    });
  });

  describe('loadCallbackState', () => {
    it('should return null for a missing record', async () => {
      expect(await loadCallbackState(redis, randomName('req'))).toBeNull();
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
      await redis.set(callbackStateKey(id), raw, 'EX', 60);
      expect(await loadCallbackState(redis, id)).toBeNull();
    });

    it('should drop unknown fields', async () => {
      const id = randomName('req');
      await redis.set(
        callbackStateKey(id),
        JSON.stringify({ ...state, token: 'secret', extra: 1 }),
        'EX',
        60,
      );
      expect(await loadCallbackState(redis, id)).toEqual(state);
    });

    it('should throw on a Redis error rather than report the request as unknown', async () => {
      const dead = new Redis({
        port: 1,
        lazyConnect: true,
        enableOfflineQueue: false,
        retryStrategy: () => null,
      });
      dead.on('error', () => undefined);
      await expect(loadCallbackState(dead, 'x')).rejects.toThrow();
      dead.disconnect();
    });
  });

  describe('deleteCallbackState', () => {
    it('should delete the record and say whether it existed', async () => {
      const id = randomName('req');
      await saveCallbackState(redis, id, state);
      expect(await deleteCallbackState(redis, id)).toBe(true);
      expect(await loadCallbackState(redis, id)).toBeNull();
      expect(await deleteCallbackState(redis, id)).toBe(false);
    });
  });
});
