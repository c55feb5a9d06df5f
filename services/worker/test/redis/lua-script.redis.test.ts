import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeConnection, createWorkerConnection } from '@telegram-receiver/core';
import { RedisServer, randomName } from '@telegram-receiver/testing';
import { LuaScript } from '../../src/redis/lua-script.ts';

const INCR_BY = new LuaScript("return redis.call('INCRBY', KEYS[1], ARGV[1])", 1);

async function commandCalls(redis: Redis, command: string): Promise<number> {
  const info = await redis.info('commandstats');
  return Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info)?.[1] ?? 0);
}

describe('LuaScript.run', () => {
  let server: RedisServer;
  let redis: Redis;

  beforeAll(async () => {
    server = await RedisServer.start({ appendOnly: false });
    redis = createWorkerConnection({ url: server.url, name: 'lua-test' });
  });
  afterAll(async () => {
    await closeConnection(redis);
    await server.close();
  });

  it('should send the script text once and then only its SHA1', async () => {
    const key = randomName('lua');
    await redis.call('CONFIG', 'RESETSTAT');
    for (let i = 0; i < 5; i++) await INCR_BY.run(redis, [key], [2]);
    expect(await redis.get(key)).toBe('10');
    expect(await commandCalls(redis, 'eval')).toBe(1);
    expect(await commandCalls(redis, 'evalsha')).toBe(5);
  });

  it('should load the script again after Redis forgot it (SCRIPT FLUSH)', async () => {
    const key = randomName('lua');
    await INCR_BY.run(redis, [key], [1]);
    await redis.script('FLUSH');
    expect(await INCR_BY.run(redis, [key], [1])).toBe(2);
    expect(await INCR_BY.run(redis, [key], [1])).toBe(3);
  });

  it('should throw the script error of a failing script', async () => {
    const key = randomName('lua');
    await redis.set(key, 'not a number');
    await expect(INCR_BY.run(redis, [key], [1])).rejects.toThrow(/not an integer/);
  });

  it('should refuse a wrong number of keys', async () => {
    await expect(INCR_BY.run(redis, [], [1])).rejects.toThrow(RangeError);
  });

  it('should name the SHA1 of its source', () => {
    expect(INCR_BY.sha).toMatch(/^[0-9a-f]{40}$/);
  });
});
