// Wrong secrets from one address are throttled across gateway replicas (real processes sharing one
// redis-server); valid requests, and other addresses, are never slowed.
import { RedisServer, randomName, type ServiceProcess } from '@telegram-receiver/testing';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayProcess } from './gateway-process.ts';
import { BOT_A, CALLBACK_SECRET, messageUpdate, post, startGateway, type TestGateway } from './harness.ts';

let server: RedisServer;
beforeAll(async () => {
  server = await RedisServer.start();
});
afterAll(async () => {
  await server.close();
});

async function webhook(base: string, secret: string, updateId: number, dispatcher?: Agent) {
  const res = await request(`${base}/telegram/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
    body: JSON.stringify(messageUpdate(updateId)),
    ...(dispatcher === undefined ? {} : { dispatcher }),
  });
  await res.body.dump();
  return { status: res.statusCode, retryAfter: res.headers['retry-after'] };
}

describe('FailedSecretThrottle (in one gateway)', () => {
  let tg: TestGateway;
  afterEach(async () => {
    await tg.close();
  });

  it('should answer 401 up to the limit, then 429 with Retry-After, and count both', async () => {
    tg = await startGateway(server, { AUTH_FAILURE_LIMIT: '3', AUTH_FAILURE_WINDOW_SECONDS: '30' });
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push(await webhook(tg.url, 'wrong_secret', 100 + i));
    expect(statuses.map(s => s.status)).toEqual([401, 401, 401, 429, 429, 429]);
    const retryAfter = Number(statuses[5]?.retryAfter);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(30);
    const metrics = await (await request(`${tg.opsUrl}/metrics`)).body.text();
    expect(metrics).toMatch(/auth_failures_total\{route="webhook",outcome="unauthorized"\} 3/);
    expect(metrics).toMatch(/auth_failures_total\{route="webhook",outcome="throttled"\} 3/);
    expect(metrics).toMatch(/webhook_rejections_total\{reason="throttled"\} 3/);
    // No address or secret becomes a label.
    expect(metrics).not.toMatch(/127\.0\.0\.1|wrong_secret/);
  });

  it('should never slow a valid secret from a throttled address', async () => {
    tg = await startGateway(server, { AUTH_FAILURE_LIMIT: '2' });
    for (let i = 0; i < 5; i++) await webhook(tg.url, 'wrong_secret', 200 + i);
    expect((await webhook(tg.url, 'wrong_secret', 210)).status).toBe(429);
    for (let i = 0; i < 5; i++) {
      expect((await webhook(tg.url, BOT_A.webhookSecret, 220 + i)).status).toBe(200);
    }
  });

  it('should throttle wrong callback secrets from the same address too', async () => {
    tg = await startGateway(server, { AUTH_FAILURE_LIMIT: '2' });
    const callback = () =>
      post(
        `${tg.url}/cursor-runner/callback`,
        { requestId: 'r-1', success: true },
        { 'x-webhook-secret': 'nope' },
      );
    expect((await callback()).status).toBe(401);
    expect((await callback()).status).toBe(401);
    const third = await callback();
    expect(third.status).toBe(429);
    expect(JSON.parse(third.text)).toEqual({ error: 'too many failed attempts, retry later' });
    // The right callback secret still gets through.
    const ok = await post(
      `${tg.url}/cursor-runner/callback`,
      { requestId: 'r-2', success: true, output: 'x' },
      { 'x-webhook-secret': CALLBACK_SECRET },
    );
    expect(ok.status).toBe(200);
  });

  it('should tell clients apart by X-Forwarded-For only behind a trusted proxy', async () => {
    tg = await startGateway(server, { AUTH_FAILURE_LIMIT: '1', TRUSTED_PROXIES: '127.0.0.1' });
    const from = (address: string) =>
      request(`${tg.url}/telegram/webhook`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-telegram-bot-api-secret-token': 'wrong',
          'x-forwarded-for': `6.6.6.6, ${address}`,
        },
        body: '{}',
      }).then(async res => {
        await res.body.dump();
        return res.statusCode;
      });
    expect([await from('198.51.100.1'), await from('198.51.100.1')]).toEqual([401, 429]);
    // Another client behind the same proxy is counted on its own.
    expect(await from('198.51.100.2')).toBe(401);
  });

  it('should answer 401 (never a 5xx) when Redis cannot count', async () => {
    tg = await startGateway(server, { AUTH_FAILURE_LIMIT: '1' });
    tg.redis.disconnect();
    for (let i = 0; i < 3; i++) expect((await webhook(tg.url, 'wrong', 300 + i)).status).toBe(401);
  });
});

describe('FailedSecretThrottle (across 2 gateway processes)', () => {
  const services: ServiceProcess[] = [];
  afterAll(async () => {
    await Promise.all(services.map(s => s.stop()));
  });

  it(
    'should throttle a brute force spread over both replicas, and leave another address alone',
    { timeout: 180_000 },
    async () => {
      const prefix = randomName('throttle');
      const bases: string[] = [];
      for (let i = 0; i < 2; i++) {
        const gateway = await startGatewayProcess(server, {
          QUEUE_PREFIX: prefix,
          TELEGRAM_BOT_TOKEN: BOT_A.token,
          TELEGRAM_WEBHOOK_SECRET: BOT_A.webhookSecret,
          AUTH_FAILURE_LIMIT: '10',
          WEBHOOK_SECRET: CALLBACK_SECRET,
        });
        services.push(gateway.service);
        bases.push(gateway.url);
      }
      // The attacker (127.0.0.1) alternates replicas: the 11th failure overall is throttled, on
      // whichever replica it lands.
      const attack = [];
      for (let i = 0; i < 40; i++) {
        attack.push((await webhook(bases[i % 2] as string, `guess_${i}`, 1000 + i)).status);
      }
      expect(attack.slice(0, 10)).toEqual(Array(10).fill(401));
      expect(attack.slice(10)).toEqual(Array(30).fill(429));
      // A valid sender from another address (127.0.0.2) is unaffected, on both replicas, and a
      // wrong secret from it is a plain 401: its own count.
      const other = new Agent({ localAddress: '127.0.0.2' });
      try {
        for (let i = 0; i < 10; i++) {
          expect((await webhook(bases[i % 2] as string, BOT_A.webhookSecret, 2000 + i, other)).status).toBe(
            200,
          );
        }
        expect((await webhook(bases[0] as string, 'typo', 3000, other)).status).toBe(401);
      } finally {
        await other.close();
      }
    },
  );
});
