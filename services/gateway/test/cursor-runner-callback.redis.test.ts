// The cursor-runner callback against a private redis-server: every secret form, both casings, and
// the refusals (missing id, wrong secret, callbacks disabled, Redis down).
import { callbackJobId } from '@telegram-receiver/core';
import { RedisServer, waitFor } from '@telegram-receiver/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CALLBACK_SECRET, post, startGateway, storedKeys, type TestGateway } from './harness.ts';

let server: RedisServer;
let tg: TestGateway;

beforeAll(async () => {
  server = await RedisServer.start();
});
afterAll(async () => {
  await server.close();
});
beforeEach(async () => {
  tg = await startGateway(server);
});
afterEach(async () => {
  await tg.close();
});

const camel = {
  success: true,
  requestId: 'telegram-1700000000-abcdef12',
  repository: 'repo',
  branchName: 'main',
  iterations: 3,
  maxIterations: 25,
  output: 'done',
  error: null,
  exitCode: 0,
  duration: '1200ms',
  timestamp: '2026-01-01T00:00:00.000Z',
};

const snake = {
  success: 'false',
  request_id: 'telegram-1700000001-abcdef13',
  branch_name: 'feature',
  max_iterations: 10,
  exit_code: 2,
  error: 'Iteration failed',
};

const callbackUrl = () => `${tg.url}/cursor-runner/callback`;

describe('POST /cursor-runner/callback', () => {
  it.each([
    ['X-Webhook-Secret', { 'x-webhook-secret': CALLBACK_SECRET }, ''],
    ['X-Cursor-Runner-Secret', { 'x-cursor-runner-secret': CALLBACK_SECRET }, ''],
    ['?secret=', {}, `?secret=${CALLBACK_SECRET}`],
  ])('should accept the secret in %s and enqueue the normalised result', async (_, headers, query) => {
    const answer = await post(`${callbackUrl()}${query}`, camel, headers);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({ received: true, request_id: camel.requestId });
    const job = await tg.queues.callbacks.getJob(callbackJobId(camel.requestId));
    expect(job?.data.result).toEqual(camel);
    expect(typeof job?.data.receivedAt).toBe('number');
  });

  it('should normalise a snake_case body with the seed defaults', async () => {
    const answer = await post(callbackUrl(), snake, { 'x-webhook-secret': CALLBACK_SECRET });
    expect(answer.status).toBe(200);
    const job = await tg.queues.callbacks.getJob(callbackJobId(snake.request_id));
    expect(job?.data.result).toEqual({
      requestId: snake.request_id,
      success: false,
      branchName: 'feature',
      iterations: 0,
      maxIterations: 10,
      output: '',
      error: 'Iteration failed',
      exitCode: 2,
    });
  });

  it('should keep one job when the same callback arrives twice', async () => {
    const headers = { 'x-webhook-secret': CALLBACK_SECRET };
    expect((await post(callbackUrl(), camel, headers)).status).toBe(200);
    expect((await post(callbackUrl(), { ...camel, output: 'again' }, headers)).status).toBe(200);
    expect((await tg.queues.callbacks.getJobCounts('wait')).wait).toBe(1);
  });

  it('should answer 400 "request_id is required" without a request id, and store nothing', async () => {
    const { requestId: _, ...withoutId } = camel;
    const answer = await post(callbackUrl(), withoutId, { 'x-webhook-secret': CALLBACK_SECRET });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text)).toEqual({ error: 'request_id is required' });
    expect(await storedKeys(tg)).toEqual([]);
  });

  it.each([
    ['a number', 12345],
    ['an object', { id: 'x' }],
    ['a 201-character string', 'r'.repeat(201)],
    ['a control character', 'abc\u0000def'],
    ['a newline', 'abc\ndef'],
    ['non-ASCII text', 'räksmörgås'],
  ])('should answer 400 to a request id that is %s', async (_, requestId) => {
    const answer = await post(
      callbackUrl(),
      { ...camel, requestId },
      { 'x-webhook-secret': CALLBACK_SECRET },
    );
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text)).toHaveProperty('error');
    expect(await storedKeys(tg)).toEqual([]);
  });

  it.each([
    ['malformed JSON', '{"requestId":'],
    ['an array', '[]'],
    ['null', 'null'],
  ])('should answer 400 to %s', async (_, body) => {
    const answer = await post(callbackUrl(), body, { 'x-webhook-secret': CALLBACK_SECRET });
    expect(answer.status).toBe(400);
    expect(await storedKeys(tg)).toEqual([]);
  });

  it('should answer 415 to a form body and 413 to a body over the limit', async () => {
    const form = await post(callbackUrl(), 'requestId=x', {
      'x-webhook-secret': CALLBACK_SECRET,
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(form.status).toBe(415);
    const huge = await post(
      callbackUrl(),
      { ...camel, output: 'o'.repeat(2 * 1024 * 1024) },
      { 'x-webhook-secret': CALLBACK_SECRET },
    );
    expect(huge.status).toBe(413);
    expect(await storedKeys(tg)).toEqual([]);
  });

  it.each([
    ['no secret', {}, ''],
    ['a wrong header secret', { 'x-webhook-secret': 'wrong' }, ''],
    ['a wrong query secret', {}, '?secret=wrong'],
    ['a repeated query secret', {}, `?secret=${CALLBACK_SECRET}&secret=${CALLBACK_SECRET}`],
  ])('should answer 401 {"error":"Unauthorized"} with %s', async (_, headers, query) => {
    const answer = await post(`${callbackUrl()}${query}`, camel, headers);
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.text)).toEqual({ error: 'Unauthorized' });
    expect(await storedKeys(tg)).toEqual([]);
  });

  it('should never put the secret of a ?secret= URL in a log line or metric label', async () => {
    await post(`${callbackUrl()}?secret=${CALLBACK_SECRET}`, camel);
    await post(`${callbackUrl()}?secret=${CALLBACK_SECRET}`, '{broken');
    const metrics = await tg.registry.metrics();
    expect(metrics).toContain('route="/cursor-runner/callback"');
    expect(metrics).not.toContain(CALLBACK_SECRET);
    expect(tg.logLines.join('\n')).not.toContain(CALLBACK_SECRET);
  });

  it('should answer 503 + Retry-After while Redis is down, and 200 once it is back', async () => {
    await server.kill();
    try {
      const answer = await post(callbackUrl(), camel, { 'x-webhook-secret': CALLBACK_SECRET });
      expect(answer.status).toBe(503);
      expect(answer.headers['retry-after']).toBe(String(tg.config.RETRY_AFTER_SECONDS));
      expect(tg.logLines.some(l => l.includes('"level":40') && l.includes('callback not stored'))).toBe(true);
    } finally {
      await server.restart();
    }
    await waitFor(
      async () => (await post(callbackUrl(), camel, { 'x-webhook-secret': CALLBACK_SECRET })).status === 200,
      { timeoutMs: 10_000, intervalMs: 100 },
    );
  });
});

describe('POST /cursor-runner/callback without WEBHOOK_SECRET', () => {
  it('should answer 503 "callback disabled" and store nothing', async () => {
    const disabled = await startGateway(server, { WEBHOOK_SECRET: '' });
    try {
      const answer = await post(`${disabled.url}/cursor-runner/callback`, camel, {
        'x-webhook-secret': 'anything',
      });
      expect(answer.status).toBe(503);
      expect(JSON.parse(answer.text)).toEqual({ error: 'callback disabled: set WEBHOOK_SECRET' });
      expect(await storedKeys(disabled)).toEqual([]);
    } finally {
      await disabled.close();
    }
  });
});
