import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer } from '../src/index.ts';

describe('RedisServer', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server.close();
  });

  it('should serve on its own port, never 6379', async () => {
    expect(server.port).not.toBe(6379);
    const client = new Redis(server.url);
    await expect(client.ping()).resolves.toBe('PONG');
    client.disconnect();
  });

  it('should keep acknowledged writes across kill -9 and restart (AOF)', async () => {
    const client = new Redis(server.url, { maxRetriesPerRequest: null });
    await client.set('k', 'v');
    await server.kill();
    expect(server.running).toBe(false);
    await server.restart();
    await expect(client.get('k')).resolves.toBe('v');
    client.disconnect();
  });
});
