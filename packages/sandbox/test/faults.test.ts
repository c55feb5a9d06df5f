import { errors, request } from 'undici';
import { waitFor } from '@telegram-receiver/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { InvalidControlError, startSandbox, type FaultRule, type Sandbox } from '../src/index.ts';
import { TOKEN, call } from './helpers.ts';

let sandbox: Sandbox;
const tg = (method: string) => `${sandbox.url}/bot${TOKEN}/${method}`;
const send = (chatId: number, text = 'hi') => call(tg('sendMessage'), { json: { chat_id: chatId, text } });

beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(async () => {
  await sandbox.close();
});
beforeEach(() => sandbox.reset());

describe('setFault', () => {
  it('should answer a Telegram 429 exactly like Telegram, `times` times, then expire', async () => {
    sandbox.setFault({
      service: 'telegram',
      method: 'sendMessage',
      type: 'status',
      status: 429,
      retryAfter: 7,
      times: 2,
    });
    for (let i = 0; i < 2; i++) {
      const res = await send(1);
      expect(res.status).toBe(429);
      expect(res.headers['retry-after']).toBe('7');
      expect(res.body).toEqual({
        ok: false,
        error_code: 429,
        description: 'Too Many Requests: retry after 7',
        parameters: { retry_after: 7 },
      });
    }
    expect((await send(1)).status).toBe(200);
    expect(sandbox.calls({ method: 'sendMessage' }).map(c => c.status)).toEqual([429, 429, 200]);
  });

  it('should answer a Telegram 5xx in the JSON envelope', async () => {
    sandbox.setFault({ service: 'telegram', type: 'status', status: 502, times: 1 });
    const res = await send(1);
    expect(res.status).toBe(502);
    expect(res.body).toEqual({ ok: false, error_code: 502, description: 'Bad Gateway' });
  });

  it('should use a given description (e.g. a blocked user)', async () => {
    sandbox.setFault({
      service: 'telegram',
      type: 'status',
      status: 403,
      description: 'Forbidden: bot was blocked by the user',
    });
    expect((await send(1)).body).toEqual({
      ok: false,
      error_code: 403,
      description: 'Forbidden: bot was blocked by the user',
    });
  });

  it('should answer an nginx-style HTML page for an html fault', async () => {
    sandbox.setFault({ service: 'telegram', type: 'html', status: 502 });
    const res = await send(1);
    expect(res.status).toBe(502);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('<center><h1>502 Bad Gateway</h1></center>');
    expect(res.body).toContain('nginx');
  });

  it('should hold a timeout fault until the client gives up (client sees a headers timeout)', async () => {
    sandbox.setFault({ service: 'telegram', method: 'sendMessage', type: 'timeout' });
    const started = Date.now();
    await expect(
      request(tg('sendMessage'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"chat_id":3,"text":"x"}',
        headersTimeout: 300,
      }),
    ).rejects.toBeInstanceOf(errors.HeadersTimeoutError);
    expect(Date.now() - started).toBeLessThan(5_000);
    const recorded = await waitFor(() => sandbox.calls({ method: 'sendMessage', chatId: 3 })[0]);
    expect(recorded.status).toBe(0);
  });

  it('should drop the connection after `ms` for a bounded timeout fault', async () => {
    sandbox.setFault({ service: 'telegram', type: 'timeout', ms: 200 });
    await expect(request(tg('getMe'), { headersTimeout: 10_000 })).rejects.toBeInstanceOf(errors.SocketError);
  });

  it('should reset the socket without an answer (client sees a socket error)', async () => {
    sandbox.setFault({ service: 'telegram', method: 'sendMessage', type: 'reset', times: 1 });
    const err = await request(tg('sendMessage'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"chat_id":4,"text":"x"}',
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(errors.SocketError);
    expect(sandbox.calls({ chatId: 4 })[0]?.status).toBe(0);
    expect((await send(4)).status).toBe(200);
  });

  it('should add latency and then answer normally', async () => {
    sandbox.setFault({ service: 'telegram', method: 'getMe', type: 'latency', ms: 250, times: 1 });
    const started = Date.now();
    expect((await call(tg('getMe'))).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(240);
  });

  it('should combine latency with a status fault on the same call', async () => {
    sandbox.setFault({ service: 'telegram', type: 'latency', ms: 150, times: 1 });
    sandbox.setFault({ service: 'telegram', type: 'status', status: 500, times: 1 });
    const started = Date.now();
    expect((await send(1)).status).toBe(500);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('should match only the rule chat, method and service', async () => {
    sandbox.setFault({
      service: 'telegram',
      method: 'sendMessage',
      chatId: 100,
      type: 'status',
      status: 429,
    });
    expect((await send(100)).status).toBe(429);
    expect((await send(101)).status).toBe(200);
    expect((await call(tg('sendChatAction'), { json: { chat_id: 100, action: 'typing' } })).status).toBe(200);
    expect((await call(`${sandbox.url}/health`)).status).toBe(200);
  });

  it('should match any method with "*" and method names case-insensitively', async () => {
    sandbox.setFault({ service: 'telegram', method: 'SENDMESSAGE', type: 'status', status: 500, times: 1 });
    expect((await send(1)).status).toBe(500);
    sandbox.setFault({ service: 'telegram', method: '*', type: 'status', status: 503 });
    expect((await call(tg('getMe'))).status).toBe(503);
    expect((await call(tg('getFile'), { json: { file_id: 'x' } })).status).toBe(503);
    sandbox.clearFaults();
    expect((await call(tg('getMe'))).status).toBe(200);
  });

  it('should refuse an invalid rule with a message that says what is wrong', () => {
    const bad: unknown[] = [
      { service: 'mail', type: 'reset' },
      { service: 'telegram', type: 'explode' },
      { service: 'telegram', type: 'status' },
      { service: 'telegram', type: 'status', status: 200 },
      { service: 'telegram', type: 'latency', ms: -1 },
      { service: 'telegram', type: 'reset', times: 0 },
      { service: 'telegram', type: 'reset', chatId: 1.5 },
      { service: 'telegram', type: 'reset', method: '' },
      { service: 'telegram', type: 'reset', colour: 'red' },
    ];
    for (const rule of bad) {
      expect(() => sandbox.setFault(rule as FaultRule), JSON.stringify(rule)).toThrow(InvalidControlError);
    }
  });
});

describe('close', () => {
  it('should close promptly while a timeout fault holds a request', async () => {
    const own = await startSandbox();
    own.setFault({ service: 'telegram', type: 'timeout' });
    const pending = request(`${own.url}/bot${TOKEN}/getMe`).then(
      () => 'answered',
      () => 'dropped',
    );
    await waitFor(async () => (await call(`${own.url}/sandbox/health`)).body.heldRequests === 1);
    const started = Date.now();
    await own.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(await pending).toBe('dropped');
  });
});

describe('/sandbox/faults and /sandbox/files', () => {
  const post = (path: string, body: string, type = 'application/json') =>
    call(`${sandbox.url}/sandbox/${path}`, { body, headers: { 'content-type': type } });

  it('should add a rule over HTTP and clear it', async () => {
    const res = await post(
      'faults',
      JSON.stringify({ service: 'telegram', method: 'getMe', type: 'status', status: 500 }),
    );
    expect(res.status).toBe(201);
    expect((await call(tg('getMe'))).status).toBe(500);
    expect((await call(`${sandbox.url}/sandbox/faults`, { method: 'DELETE' })).status).toBe(204);
    expect((await call(tg('getMe'))).status).toBe(200);
  });

  it('should answer 400 with a clear message for malformed, hostile or missing input', async () => {
    const cases: [string, RegExp][] = [
      ['{"service":', /not valid JSON/],
      ['[]', /must be an object/],
      ['"reset"', /must be an object/],
      ['{}', /service must be one of/],
      ['{"service":"telegram"}', /type must be one of/],
      ['{"service":"telegram","type":"status","status":"500"}', /status must be an integer/],
      ['{"service":"telegram","type":"reset","__proto__":{"x":1}}', /unknown field "__proto__"/],
      ['{"service":"telegram","type":"latency","ms":1e12}', /ms must be an integer/],
    ];
    for (const [body, message] of cases) {
      const res = await post('faults', body);
      expect(res.status, body).toBe(400);
      expect(res.body.error, body).toMatch(message);
    }
    expect((await call(`${sandbox.url}/sandbox/faults`, { method: 'POST' })).status).toBe(400);
    expect((await post('faults', '{"service":"telegram","type":"reset"}', 'text/plain')).status).toBe(415);
    expect(
      (
        await post(
          'faults',
          JSON.stringify({ service: 'telegram', type: 'reset', method: 'x'.repeat(100_000) }),
        )
      ).status,
    ).toBe(413);
    expect((await call(tg('getMe'))).status).toBe(200); // nothing was added
  });

  it('should register a file over HTTP and refuse bad registrations', async () => {
    const res = await post(
      'files',
      JSON.stringify({ fileId: 'voice-1', transcript: 'hello', sizeBytes: 1234 }),
    );
    expect(res.status).toBe(201);
    expect((await call(tg('getFile'), { json: { file_id: 'voice-1' } })).body.result.file_size).toBe(1234);
    for (const body of [
      '{}',
      '{"fileId":"../etc"}',
      '{"fileId":"ok","sizeBytes":-1}',
      '{"fileId":"ok","sizeBytes":1e10}',
      `{"fileId":"ok","transcript":"${'x'.repeat(10_001)}"}`,
      '{"fileId":"ok","mimeType":"nonsense"}',
      '{"fileId":"ok","extra":1}',
    ]) {
      expect((await post('files', body)).status, body.slice(0, 60)).toBe(400);
    }
  });

  it('should reset everything over HTTP and report health', async () => {
    await post('faults', JSON.stringify({ service: 'telegram', type: 'status', status: 500 }));
    await call(`${sandbox.url}/sandbox/reset`, { method: 'POST' });
    expect((await call(tg('getMe'))).status).toBe(200);
    expect((await call(`${sandbox.url}/sandbox/health`)).body).toEqual({
      status: 'ok',
      service: 'sandbox',
      calls: 1,
      heldRequests: 0,
    });
  });
});
