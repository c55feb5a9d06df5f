// src/main.ts as a real child process: start-up with a private redis-server, SIGTERM in the middle
// of a burst (every update that got its 200 must be in Redis, and the process exits 0).
import { updateJobId } from '@telegram-receiver/core';
import { RedisServer, randomName } from '@telegram-receiver/testing';
import { Redis } from 'ioredis';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayProcess } from './gateway-process.ts';
import { messageUpdate } from './harness.ts';

const TOKEN = '987654:main-test-token-cccccccccccccccccccccc';
const SECRET = 'main_test_webhook_secret_42';

let server: RedisServer;
let probe: Redis;

beforeAll(async () => {
  server = await RedisServer.start();
  probe = new Redis(server.url);
});
afterAll(async () => {
  probe.disconnect();
  await server.close();
});

describe('main.ts (SIGTERM)', () => {
  it('should store every update it answered 200 during a burst, then exit 0', async () => {
    const prefix = randomName('main');
    const { service, port, opsPort } = await startGatewayProcess(server, {
      QUEUE_PREFIX: prefix,
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_WEBHOOK_SECRET: SECRET,
      WEBHOOK_SECRET: 'main-callback-secret',
      LOG_LEVEL: 'debug',
      SHUTDOWN_GRACE_MS: '5000',
    });
    const listening = JSON.parse(service.lines.find(l => l.includes('gateway listening')) ?? '{}') as {
      port?: number;
      opsPort?: number;
    };
    expect(listening).toMatchObject({ port, opsPort });

    const agent = new Agent({ connections: 64 });
    const ok: number[] = [];
    const failed: number[] = [];
    let signalled = false;
    const burst = Array.from({ length: 300 }, async (_, i) => {
      const id = 10_000 + i;
      try {
        const res = await request(`http://127.0.0.1:${port}/telegram/webhook`, {
          method: 'POST',
          dispatcher: agent,
          headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET },
          body: JSON.stringify(messageUpdate(id, 1000 + (i % 40))),
        });
        const text = await res.body.text();
        if (res.statusCode === 200 && text === 'OK') ok.push(id);
        else failed.push(id);
      } catch {
        failed.push(id);
      }
      // SIGTERM while most of the burst is still in flight.
      if (!signalled && ok.length >= 20) {
        signalled = true;
        service.proc.kill('SIGTERM');
      }
    });
    await Promise.all(burst);
    const code = await service.exited;
    await agent.close();

    expect(signalled).toBe(true);
    expect(code).toBe(0);
    expect(ok.length + failed.length).toBe(300);
    expect(ok.length).toBeGreaterThanOrEqual(20);
    const missing: number[] = [];
    for (const id of ok) {
      if ((await probe.exists(`${prefix}:updates:${updateJobId('default', id)}`)) !== 1) missing.push(id);
    }
    expect(missing).toEqual([]);
    expect(service.lines.some(l => l.includes('gateway stopped'))).toBe(true);
    const output = service.lines.join('\n');
    expect(output).not.toContain(SECRET);
    expect(output).not.toContain(TOKEN);
  });
});
