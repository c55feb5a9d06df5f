import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort, waitFor } from '@telegram-receiver/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../src/index.ts';
import { call, capturingLogger } from './helpers.ts';

interface Received {
  url: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  at: number;
}

/** A stand-in gateway: records cursor-runner callbacks and answers `status`. */
async function startReceiver(): Promise<{
  server: Server;
  url: string;
  received: Received[];
  status: { code: number };
}> {
  const received: Received[] = [];
  const status = { code: 200 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        url: req.url ?? '',
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>,
        at: Date.now(),
      });
      res.writeHead(status.code, { 'content-type': 'application/json' }).end('{"received":true}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received, status };
}

let receiver: Awaited<ReturnType<typeof startReceiver>>;
let sandbox: Sandbox;
const captured = capturingLogger();
const CONFIGURED_SECRET = 'configured-webhook-secret-1';

beforeAll(async () => {
  receiver = await startReceiver();
  sandbox = await startSandbox({
    webhookSecret: CONFIGURED_SECRET,
    defaultCallbackUrl: `${receiver.url}/cursor-runner/callback`,
    logger: captured.logger,
  });
});
afterAll(async () => {
  await sandbox.close();
  receiver.server.close();
});
beforeEach(() => {
  sandbox.reset();
  receiver.received.length = 0;
  receiver.status.code = 200;
});

const iterateAsync = (json: unknown) => call(`${sandbox.url}/cursor/iterate/async`, { json });
const callbackFor = (requestId: string) =>
  waitFor(() => receiver.received.find(r => r.body.requestId === requestId));

describe('GET /health', () => {
  it('should answer like cursor-runner', async () => {
    expect((await call(`${sandbox.url}/health`)).body).toEqual({ status: 'ok', service: 'cursor-runner' });
  });
});

describe('POST /cursor/iterate/async', () => {
  it('should ack at once, then POST the success body with both secret headers and the secret removed from the URL', async () => {
    const ack = await iterateAsync({
      id: 'telegram-1700000000-abcdef12',
      prompt: 'list files',
      repository: 'repo-a',
      maxIterations: 25,
      callbackUrl: `${receiver.url}/cursor-runner/callback?secret=url-secret-123&bot=main`,
    });
    expect(ack.status).toBe(200);
    expect(ack.body).toEqual({
      success: true,
      message: 'Request accepted, processing asynchronously',
      requestId: 'telegram-1700000000-abcdef12',
      timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/),
    });
    const got = await callbackFor('telegram-1700000000-abcdef12');
    expect(got.url).toBe('/cursor-runner/callback?bot=main');
    expect(got.headers['x-webhook-secret']).toBe('url-secret-123');
    expect(got.headers['x-cursor-runner-secret']).toBe('url-secret-123');
    expect(got.headers['user-agent']).toBe('cursor-runner/1.0');
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.body).toEqual({
      success: true,
      requestId: 'telegram-1700000000-abcdef12',
      repository: 'repo-a',
      iterations: 1,
      maxIterations: 25,
      output: 'Echo: list files',
      error: null,
      exitCode: 0,
      duration: expect.stringMatching(/^\d+ms$/),
      timestamp: expect.any(String),
      branchName: 'main',
    });
    const recorded = await waitFor(() => sandbox.calls({ service: 'cursor-runner', method: 'callback' })[0]);
    expect(recorded).toMatchObject({
      status: 200,
      url: `${receiver.url}/cursor-runner/callback?bot=main`,
      body: { requestId: 'telegram-1700000000-abcdef12' },
    });
    expect(sandbox.calls({ method: 'iterate-async' })[0]).toMatchObject({
      status: 200,
      body: { prompt: 'list files' },
    });
  });

  it('should use the configured secret, the default URL and a generated id when the request has none', async () => {
    const ack = await iterateAsync({ prompt: 'hello' });
    expect(ack.body.requestId).toMatch(/^req-\d+-[0-9a-z]{9}$/);
    const got = await callbackFor(ack.body.requestId as string);
    expect(got.url).toBe('/cursor-runner/callback');
    expect(got.headers['x-webhook-secret']).toBe(CONFIGURED_SECRET);
    expect(got.headers['x-cursor-runner-secret']).toBe(CONFIGURED_SECRET);
  });

  it('should accept callback_url in snake case', async () => {
    const ack = await iterateAsync({ id: 'snake-1', prompt: 'x', callback_url: `${receiver.url}/other` });
    expect((await callbackFor(ack.body.requestId as string)).url).toBe('/other');
  });

  it('should send no secret headers when no secret is known', async () => {
    const own = await startSandbox();
    try {
      await call(`${own.url}/cursor/iterate/async`, {
        json: { id: 'nosecret-1', prompt: 'x', callbackUrl: `${receiver.url}/cb` },
      });
      const got = await callbackFor('nosecret-1');
      expect(got.headers['x-webhook-secret']).toBeUndefined();
      expect(got.headers['x-cursor-runner-secret']).toBeUndefined();
    } finally {
      await own.close();
    }
  });

  it('should wait cursorDelayMs between the ack and the callback', async () => {
    const own = await startSandbox({ cursorDelayMs: 300, defaultCallbackUrl: `${receiver.url}/cb` });
    try {
      const acked = Date.now();
      const ack = await call(`${own.url}/cursor/iterate/async`, { json: { id: 'slow-1', prompt: 'x' } });
      expect(ack.status).toBe(200);
      const got = await callbackFor('slow-1');
      expect(got.at - acked).toBeGreaterThanOrEqual(290);
    } finally {
      await own.close();
    }
  });

  it('should send the failure body for [[fail]]', async () => {
    await iterateAsync({ id: 'fail-1', prompt: 'do it [[fail]]' });
    expect((await callbackFor('fail-1')).body).toMatchObject({
      success: false,
      requestId: 'fail-1',
      error: 'Iteration failed',
      exitCode: 1,
    });
    expect((await callbackFor('fail-1')).body.branchName).toBeUndefined();
  });

  it('should produce exactly N characters of numbered lines for [[long:N]]', async () => {
    await iterateAsync({ id: 'long-1', prompt: '[[long:10000]]' });
    const output = (await callbackFor('long-1')).body.output as string;
    expect(output).toHaveLength(10_000);
    expect(output.split('\n')[0]).toMatch(/^000001 /);
    expect(output.split('\n')[1]).toMatch(/^000002 /);
  });

  it('should produce ANSI colour codes and < > & for [[ansi]]', async () => {
    await iterateAsync({ id: 'ansi-1', prompt: '[[ansi]]' });
    const output = (await callbackFor('ansi-1')).body.output as string;
    expect(output).toContain('\u001b[');
    for (const c of ['<', '>', '&']) expect(output).toContain(c);
  });

  it('should answer 400 without a prompt, for a blank prompt and for malformed JSON, and keep serving', async () => {
    for (const json of [{}, { prompt: '' }, { prompt: 42 }, { prompt: '   ' }]) {
      const res = await iterateAsync(json);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ success: false, error: 'prompt is required' });
    }
    const bad = await call(`${sandbox.url}/cursor/iterate/async`, {
      body: '{"prompt":',
      headers: { 'content-type': 'application/json' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.success).toBe(false);
    expect((await call(`${sandbox.url}/health`)).status).toBe(200);
    expect(receiver.received).toHaveLength(0);
  });

  it('should record the receiver status, not retry, and never log the secret', async () => {
    receiver.status.code = 500;
    await iterateAsync({
      id: 'rejected-1',
      prompt: 'x',
      callbackUrl: `${receiver.url}/cb?secret=hidden-secret-777`,
    });
    await callbackFor('rejected-1');
    const recorded = await waitFor(() => sandbox.calls({ method: 'callback' })[0]);
    expect(recorded.status).toBe(500);
    // A later request's callback is delivered; the rejected one was not sent again.
    receiver.status.code = 200;
    await iterateAsync({ id: 'after-1', prompt: 'x' });
    await callbackFor('after-1');
    expect(receiver.received.filter(r => r.body.requestId === 'rejected-1')).toHaveLength(1);
    const log = captured.lines.join('\n');
    expect(log).toContain('cursor-runner callback rejected');
    expect(log).not.toContain('hidden-secret-777');
    expect(log).not.toContain(CONFIGURED_SECRET);
  });

  it('should record status 0 when the receiver cannot be reached', async () => {
    const port = await freePort();
    await iterateAsync({
      id: 'unreachable-1',
      prompt: 'x',
      callbackUrl: `http://127.0.0.1:${port}/cb?secret=s-unreachable`,
    });
    const recorded = await waitFor(() => sandbox.calls({ method: 'callback' })[0]);
    expect(recorded).toMatchObject({ status: 0, body: { requestId: 'unreachable-1' } });
    expect(captured.lines.join('\n')).not.toContain('s-unreachable');
  });

  it('should ack a [[silent]] prompt and never call back', async () => {
    const ack = await iterateAsync({ id: 'silent-1', prompt: 'lost result [[silent]]' });
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({ success: true, requestId: 'silent-1' });
    // A later prompt's callback arrives; the silent one's never does.
    await iterateAsync({ id: 'after-silent-1', prompt: 'x' });
    await callbackFor('after-silent-1');
    expect(receiver.received.find(r => r.body.requestId === 'silent-1')).toBeUndefined();
  });

  it('should not call back when a fault answered the request', async () => {
    sandbox.setFault({
      service: 'cursor-runner',
      method: 'iterate-async',
      type: 'status',
      status: 503,
      times: 1,
    });
    const res = await iterateAsync({ id: 'faulted-1', prompt: 'x' });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ success: false, error: 'Service Unavailable' });
    await iterateAsync({ id: 'next-1', prompt: 'x' });
    await callbackFor('next-1');
    expect(receiver.received.find(r => r.body.requestId === 'faulted-1')).toBeUndefined();
  });
});

describe('POST /cursor/iterate', () => {
  it('should answer the result body itself: 200 for success, 422 for failure', async () => {
    const ok = await call(`${sandbox.url}/cursor/iterate`, { json: { id: 'sync-1', prompt: 'hi' } });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ success: true, requestId: 'sync-1', output: 'Echo: hi', exitCode: 0 });
    const failed = await call(`${sandbox.url}/cursor/iterate`, {
      json: { id: 'sync-2', prompt: '[[fail]]' },
    });
    expect(failed.status).toBe(422);
    expect(failed.body).toMatchObject({ success: false, error: 'Iteration failed', exitCode: 1 });
    expect((await call(`${sandbox.url}/cursor/iterate`, { json: {} })).status).toBe(400);
    // No callbackUrl: the synchronous variant does not call back.
    expect(receiver.received).toHaveLength(0);
  });

  it('should also call back when given a callbackUrl', async () => {
    await call(`${sandbox.url}/cursor/iterate`, {
      json: { id: 'sync-cb', prompt: 'hi', callbackUrl: `${receiver.url}/cb` },
    });
    expect((await callbackFor('sync-cb')).body.success).toBe(true);
  });
});
