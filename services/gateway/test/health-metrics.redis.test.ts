// /health, /ready and /metrics on both listeners, with Redis up and down.
import { RedisServer, waitFor } from '@telegram-receiver/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  BOT_A,
  BOT_B,
  CALLBACK_SECRET,
  get,
  messageUpdate,
  post,
  postUpdate,
  startGateway,
  type TestGateway,
} from './harness.ts';

let server: RedisServer;
let tg: TestGateway;

beforeAll(async () => {
  server = await RedisServer.start();
});
afterAll(async () => {
  await server.close();
});
beforeEach(async () => {
  tg = await startGateway(server, { READY_CACHE_MS: '0' });
});
afterEach(async () => {
  await tg.close();
});

describe('GET /health', () => {
  it('should answer healthy on both listeners, even while Redis is down', async () => {
    await server.kill();
    try {
      for (const base of [tg.url, tg.opsUrl]) {
        const answer = await get(`${base}/health`);
        expect(answer.status).toBe(200);
        expect(JSON.parse(answer.text)).toEqual({
          status: 'healthy',
          service: 'telegram-receiver-gateway',
          version: expect.stringMatching(/^\d+\.\d+\.\d+/) as unknown,
        });
      }
    } finally {
      await server.restart();
    }
  });
});

describe('GET /ready', () => {
  it('should answer ready after a write probe, and not_ready (503) while Redis is down', async () => {
    for (const base of [tg.url, tg.opsUrl]) {
      const answer = await get(`${base}/ready`);
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.text)).toEqual({ status: 'ready' });
    }
    expect(await tg.probe.exists(`${tg.prefix}:ready:${(await import('node:os')).hostname()}`)).toBe(1);
    await server.kill();
    try {
      for (const base of [tg.url, tg.opsUrl]) {
        const answer = await get(`${base}/ready`);
        expect(answer.status).toBe(503);
        expect(JSON.parse(answer.text)).toEqual({ status: 'not_ready', reason: 'redis_unavailable' });
      }
    } finally {
      await server.restart();
    }
    await waitFor(async () => (await get(`${tg.opsUrl}/ready`)).status === 200, { timeoutMs: 10_000 });
  });
});

describe('GET /metrics', () => {
  it('should expose request, enqueue, rejection, backlog and per-bot metrics by route pattern, with no secret', async () => {
    expect(
      (await postUpdate(tg, messageUpdate(1), BOT_A.webhookSecret, '/telegram/webhook/alpha')).status,
    ).toBe(200);
    expect((await postUpdate(tg, messageUpdate(1), BOT_A.webhookSecret)).status).toBe(200);
    expect((await postUpdate(tg, messageUpdate(2), 'wrong-secret-value')).status).toBe(401);
    expect((await postUpdate(tg, '[]')).status).toBe(400);
    expect(
      (await post(`${tg.url}/cursor-runner/callback?secret=${CALLBACK_SECRET}`, { requestId: 'r1' })).status,
    ).toBe(200);
    expect((await get(`${tg.url}/no/such/${BOT_B.webhookSecret}`)).status).toBe(404);
    await waitFor(async () =>
      (await tg.registry.metrics()).includes('telegram_receiver_gateway_backlog{queue="updates"} 1'),
    );

    const answer = await get(`${tg.opsUrl}/metrics`);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^application\/openmetrics-text/);
    const text = answer.text;
    expect(text).toContain(
      'telegram_receiver_http_requests_total{route="/telegram/webhook/:bot",status="200"} 1',
    );
    expect(text).toContain('telegram_receiver_http_requests_total{route="/telegram/webhook",status="200"} 1');
    expect(text).toContain('telegram_receiver_http_requests_total{route="/telegram/webhook",status="401"} 1');
    expect(text).toContain('telegram_receiver_http_requests_total{route="unmatched",status="404"} 1');
    // Timing-free: the answer's latency depends on the machine; its bucket series must exist.
    expect(text).toContain(
      'telegram_receiver_http_request_duration_seconds_bucket{le="+Inf",route="/telegram/webhook",status="200"} 1',
    );
    expect(text).toContain(
      'telegram_receiver_http_request_duration_seconds_bucket{le="0.01",route="/telegram/webhook",status="200"}',
    );
    expect(text).toMatch(/telegram_receiver_enqueue_duration_seconds_count\{queue="updates"\} 2/);
    expect(text).toMatch(/telegram_receiver_enqueue_duration_seconds_count\{queue="callbacks"\} 1/);
    expect(text).toContain('telegram_receiver_webhook_rejections_total{reason="unauthorized"} 1');
    expect(text).toContain('telegram_receiver_webhook_rejections_total{reason="bad_request"} 1');
    expect(text).toContain('telegram_receiver_updates_enqueued_total{bot="alpha",result="new"} 1');
    expect(text).toContain('telegram_receiver_updates_enqueued_total{bot="alpha",result="duplicate"} 1');
    expect(text).toContain('telegram_receiver_gateway_backlog{queue="updates"} 1');
    for (const secret of [
      BOT_A.webhookSecret,
      BOT_B.webhookSecret,
      BOT_A.token,
      CALLBACK_SECRET,
      'wrong-secret-value',
    ]) {
      expect(text).not.toContain(secret);
    }
  });

  it('should not serve /metrics on the public listener', async () => {
    expect((await get(`${tg.url}/metrics`)).status).toBe(404);
  });

  it('should answer 405 with Allow to a wrong method on a known path', async () => {
    const answer = await get(`${tg.url}/telegram/webhook`);
    expect(answer.status).toBe(405);
    expect(answer.headers.allow).toBe('POST');
  });
});
