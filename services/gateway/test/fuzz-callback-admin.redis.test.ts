// Fuzzing the cursor-runner callback (public listener) and the operator API (admin listener) with
// seeded random and hostile requests: every answer is a status the contract allows with a JSON
// body, a 200 callback echoes its request id, the gateway keeps serving, and no secret reaches a
// log line. The seed is in every failure message, so a failure can be replayed (FUZZ_SEED).
import { TelegramClientCache, createHttpAgent } from '@telegram-receiver/core';
import { RedisServer, seededRandom } from '@telegram-receiver/testing';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOT_A, BOT_B, CALLBACK_SECRET, startGateway, type TestGateway } from './harness.ts';

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
const SECRETS = [CALLBACK_SECRET, BOT_A.token, BOT_A.webhookSecret, BOT_B.token, BOT_B.webhookSecret];

let server: RedisServer;
let tg: TestGateway;
let agent: Agent;
const botApi = createHttpAgent();

beforeAll(async () => {
  server = await RedisServer.start({ appendFsync: 'no' });
  tg = await startGateway(
    server,
    { TELEGRAM_WEBHOOK_BASE_URL: 'https://bots.example.test/', AUTH_FAILURE_LIMIT: '1000000' },
    // The Bot API is unreachable here: admin calls that pass every check end in a 502.
    {
      admin: () => ({
        telegram: new TelegramClientCache({ baseUrl: 'http://127.0.0.1:9', agent: botApi, maxAttempts: 1 }),
      }),
    },
  );
  agent = new Agent({ connections: 16 });
});
afterAll(async () => {
  await agent.close();
  await tg.close();
  await botApi.close();
  await server.close();
});

interface Case {
  base: 'public' | 'admin';
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

function makeCase(rand: () => number, n: number): Case {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const int = (max: number) => Math.floor(rand() * max);
  const text = () =>
    pick(['ok', '😀'.repeat(int(50)), '\u0000\u202e', '<b>x</b>', 'z'.repeat(int(200_000)), '']);
  const mutate = (s: string) => {
    const cut = int(s.length);
    return s.slice(0, cut) + pick(['', '}', ',', '"', '\\', '\u0000']) + s.slice(cut + int(3));
  };
  const headers: Record<string, string> = {};
  if (rand() < 0.8) {
    headers['content-type'] = pick([
      'application/json',
      'application/json; charset=utf-8',
      'text/plain',
      'a'.repeat(500),
    ]);
  }
  const secret = () =>
    pick([
      CALLBACK_SECRET,
      CALLBACK_SECRET,
      CALLBACK_SECRET,
      '',
      'wrong',
      `${CALLBACK_SECRET}x`,
      'A'.repeat(5000),
    ]);

  if (rand() < 0.6) {
    // The callback: camelCase, snake_case, mutated, hostile.
    const requestId = pick([
      `telegram-${n}-abcdef12`,
      `r:${n}`,
      `id ${n}`,
      'x'.repeat(int(400)),
      '\u0000bad',
      '',
    ]);
    const camel = {
      requestId,
      success: rand() < 0.5,
      output: text(),
      error: pick([null, 'boom', 5]),
      iterations: pick([1, -1, 'x', 1e308]),
    };
    const snake = {
      request_id: requestId,
      success: pick([true, false, 'yes', null]),
      output: text(),
      exit_code: pick([0, 1, 'x']),
    };
    const body = pick([
      () => JSON.stringify(camel),
      () => JSON.stringify(snake),
      () => mutate(JSON.stringify(camel)),
      () => `{"requestId": "r-${n}", "__proto__": {"admin": true}, "constructor": {"prototype": {"x": 1}}}`,
      () => pick(['', 'null', '[]', '{}', '"x"', '{"requestId": 5}', '{"requestId": null}']),
      () => `{"requestId": "r-${n}", "x": ${'['.repeat(int(5000))}${']'.repeat(int(5000))}}`,
    ])();
    const where = int(4);
    const value = secret();
    const path =
      where === 3 ? `/cursor-runner/callback?secret=${encodeURIComponent(value)}` : '/cursor-runner/callback';
    if (where === 0) headers['x-webhook-secret'] = value;
    if (where === 1) headers['x-cursor-runner-secret'] = value;
    if (where === 2) headers['X-Webhook-Secret'.toLowerCase()] = value;
    return { base: 'public', method: 'POST', path, headers, body };
  }
  // The operator API on the admin listener.
  const [method, path] = pick([
    ['POST', '/telegram/set_webhook'],
    ['POST', `/telegram/set_webhook?bot=${pick(['alpha', 'beta', 'nobody', '%00', '../x'])}`],
    ['GET', '/telegram/webhook_info'],
    ['GET', `/telegram/webhook_info?bot=${pick(['alpha', 'zz', ''])}`],
    ['DELETE', '/telegram/webhook?drop_pending_updates=true'],
    ['GET', '/admin/settings'],
    ['PUT', '/admin/settings'],
    ['POST', '/admin/settings'],
    ['GET', '/admin/bots'],
    ['GET', '/admin/nothing-here'],
  ] as const);
  headers['x-admin-secret'] = secret();
  const body =
    method === 'GET' || method === 'DELETE'
      ? undefined
      : pick([
          () =>
            JSON.stringify({ debug: pick([true, false, 'yes', null]), allow_audio_output: pick([true, 1]) }),
          () =>
            JSON.stringify({
              max_connections: pick([1, 40, 100, 0, 101, -1, 'x']),
              allowed_updates: pick([['message'], ['bad kind!'], 'x']),
            }),
          () =>
            JSON.stringify({
              url: pick([
                'https://x.example/hook',
                'javascript:alert(1)',
                'http://127.0.0.1/',
                'x'.repeat(5000),
              ]),
            }),
          () => mutate(JSON.stringify({ debug: true })),
          () => pick(['', '[]', 'null', '{"__proto__": {"polluted": true}}']),
          () => JSON.stringify({ blob: 'q'.repeat(int(100_000)) }),
        ])();
  return { base: 'admin', method, path, headers, ...(body === undefined ? {} : { body }) };
}

interface Outcome {
  status: number;
  text: string;
  contentType: string | undefined;
}

async function send(c: Case): Promise<Outcome | Error> {
  try {
    const res = await request(`${c.base === 'public' ? tg.url : tg.adminUrl}${c.path}`, {
      method: c.method,
      headers: c.headers,
      ...(c.body === undefined ? {} : { body: c.body }),
      dispatcher: agent,
    });
    const text = await res.body.text();
    const ct = res.headers['content-type'];
    return { status: res.statusCode, text, contentType: typeof ct === 'string' ? ct : undefined };
  } catch (err) {
    return err as Error;
  }
}

const ALLOWED = {
  public: new Set([200, 400, 401, 413, 415, 429, 503]),
  admin: new Set([200, 400, 401, 404, 405, 413, 415, 429, 502, 503]),
};

describe('the callback and admin endpoints (fuzz)', () => {
  it(`should answer every hostile request with an allowed JSON answer and log no secret (seed ${SEED})`, async () => {
    const rand = seededRandom(SEED);
    const errors: string[] = [];
    const seen = { public: new Set<number>(), admin: new Set<number>() };
    let next = 0;
    const total = 1500;
    const worker = async () => {
      while (next < total) {
        const n = next++;
        const c = makeCase(rand, n);
        const out = await send(c);
        if (out instanceof Error) {
          if (!/invalid|InvalidArgument|header/i.test(`${out.name} ${out.message}`)) {
            errors.push(`case ${n}: ${out.name}: ${out.message}`);
          }
          continue;
        }
        seen[c.base].add(out.status);
        if (!ALLOWED[c.base].has(out.status)) errors.push(`case ${n}: ${c.method} ${c.path} → ${out.status}`);
        if (
          out.status !== 404 &&
          out.status !== 405 &&
          !(out.contentType ?? '').startsWith('application/json')
        ) {
          errors.push(`case ${n}: ${out.status} with content-type ${out.contentType}`);
        }
        if (c.base === 'public' && out.status === 200) {
          // A 200 means the body was a JSON object with a request id: the answer echoes it.
          const sent = JSON.parse(c.body ?? '{}') as { requestId?: unknown; request_id?: unknown };
          const answer = JSON.parse(out.text) as { received?: unknown; request_id?: unknown };
          if (answer.received !== true || answer.request_id !== (sent.requestId || sent.request_id)) {
            errors.push(`case ${n}: 200 with ${out.text.slice(0, 100)}`);
          }
        }
        for (const secret of SECRETS) {
          if (out.text.includes(secret)) errors.push(`case ${n}: a secret in the answer`);
        }
      }
    };
    await Promise.all(Array.from({ length: 12 }, worker));
    expect(errors, `seed ${SEED}`).toEqual([]);
    // Both endpoints were exercised past their checks, not only refused.
    expect(seen.public.has(200), `seed ${SEED}`).toBe(true);
    expect(
      [...seen.admin].some(s => s === 200 || s === 502),
      `seed ${SEED}`,
    ).toBe(true);
    for (const line of tg.logLines) {
      for (const secret of SECRETS) {
        expect(line.includes(secret), `seed ${SEED}: ${line.slice(0, 200)}`).toBe(false);
      }
    }
    // Still serving afterwards.
    const final = await send({
      base: 'public',
      method: 'POST',
      path: '/cursor-runner/callback',
      headers: { 'content-type': 'application/json', 'x-webhook-secret': CALLBACK_SECRET },
      body: JSON.stringify({ requestId: 'final-check', success: true, output: 'done' }),
    });
    expect(final).toMatchObject({ status: 200 });
  });
});
