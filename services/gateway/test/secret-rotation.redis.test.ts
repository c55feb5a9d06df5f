// WEBHOOK_SECRET and ADMIN_SECRET as comma-separated lists: during a rotation every listed value is
// accepted, nothing else is, and no listed value reaches a log line.
import { TelegramClientCache, createHttpAgent } from '@telegram-receiver/core';
import { RedisServer } from '@telegram-receiver/testing';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { post, startGateway, type TestGateway } from './harness.ts';

const OLD = 'old-shared-secret-4411';
const NEW = 'new-shared-secret-9922';
const ADMIN_OLD = 'old-admin-secret-1357';
const ADMIN_NEW = 'new-admin-secret-2468';

let server: RedisServer;
let tg: TestGateway;
const agent = createHttpAgent();
beforeAll(async () => {
  server = await RedisServer.start();
});
afterEach(async () => {
  await tg.close();
});
afterAll(async () => {
  await agent.close();
  await server.close();
});

const callback = async (secret: string, requestId: string) =>
  (
    await post(
      `${tg.url}/cursor-runner/callback`,
      { requestId, success: true, output: 'done' },
      { 'x-webhook-secret': secret },
    )
  ).status;

async function adminStatus(secret: string): Promise<number> {
  const res = await request(`${tg.adminUrl}/telegram/webhook_info`, {
    headers: { 'x-admin-secret': secret },
  });
  await res.body.dump();
  return res.statusCode;
}

describe('WEBHOOK_SECRET as a rotation list', () => {
  it('should accept every listed callback secret and refuse anything else', async () => {
    tg = await startGateway(server, { WEBHOOK_SECRET: `${NEW}, ${OLD}`, LOG_LEVEL: 'debug' });
    expect(await callback(NEW, 'rot-1')).toBe(200);
    expect(await callback(OLD, 'rot-2')).toBe(200);
    expect(await callback(`${NEW},${OLD}`, 'rot-3')).toBe(401);
    expect(await callback('', 'rot-4')).toBe(401);
    for (const line of tg.logLines) {
      expect(line).not.toContain(NEW);
      expect(line).not.toContain(OLD);
    }
  });
});

describe('ADMIN_SECRET', () => {
  const withAdmin = () => ({
    admin: () => ({
      telegram: new TelegramClientCache({ baseUrl: 'http://127.0.0.1:9', agent, maxAttempts: 1 }),
    }),
  });

  it('should accept every listed admin secret, and no longer the callback secret', async () => {
    tg = await startGateway(
      server,
      { WEBHOOK_SECRET: OLD, ADMIN_SECRET: `${ADMIN_NEW},${ADMIN_OLD}` },
      withAdmin(),
    );
    // Past authentication the Bot API is unreachable here: 502, not 401.
    expect(await adminStatus(ADMIN_NEW)).not.toBe(401);
    expect(await adminStatus(ADMIN_OLD)).not.toBe(401);
    expect(await adminStatus(OLD)).toBe(401);
  });

  it('should fall back to WEBHOOK_SECRET when unset, as the seed', async () => {
    tg = await startGateway(server, { WEBHOOK_SECRET: `${NEW},${OLD}` }, withAdmin());
    expect(await adminStatus(NEW)).not.toBe(401);
    expect(await adminStatus(OLD)).not.toBe(401);
    expect(await adminStatus(ADMIN_NEW)).toBe(401);
  });
});
