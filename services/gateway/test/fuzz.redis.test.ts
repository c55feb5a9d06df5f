// Fuzzing the public listener with thousands of random and mutated requests (bodies, headers,
// framing). Every answer must be a well-formed HTTP status the contract allows, every 200 must be
// backed by a stored job, the gateway must keep serving, and its heap must stay flat. The random
// source is seeded, and the seed is in every failure message, so a failure can be replayed.
import { connect } from 'node:net';
import { updateJobId } from '@telegram-receiver/core';
import { RedisServer, seededRandom, settledMemory } from '@telegram-receiver/testing';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOT_A, BOT_B, messageUpdate, startGateway, type TestGateway } from './harness.ts';

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
const ALLOWED = new Set([200, 400, 401, 404, 405, 413, 415, 429, 431, 503]);

let server: RedisServer;
let tg: TestGateway;
let agent: Agent;

beforeAll(async () => {
  server = await RedisServer.start({ appendFsync: 'no' });
  tg = await startGateway(server);
  agent = new Agent({ connections: 16 });
});
afterAll(async () => {
  await agent.close();
  await tg.close();
  await server.close();
});

interface Case {
  path: string;
  headers: Record<string, string>;
  body: string | Buffer;
}

function makeCase(rand: () => number, n: number): Case {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const int = (max: number) => Math.floor(rand() * max);
  const unicode = () =>
    pick(['😀', 'ж', '中文', '\u202e', '\u0000', '\\ud800', '\\u0000', 'é', '\u2028', '𝕏']).repeat(
      1 + int(20),
    );
  const validUpdate = () => messageUpdate(1_000_000 + n, int(50), `fuzz ${unicode()}`);
  const bodies: (() => string | Buffer)[] = [
    () => JSON.stringify(validUpdate()),
    () => Buffer.from(Array.from({ length: int(4096) }, () => int(256))),
    () => {
      const s = JSON.stringify(validUpdate());
      const cut = int(s.length);
      return s.slice(0, cut) + pick(['', '}', ',', '"', '\\', '\u0000', unicode()]) + s.slice(cut + int(3));
    },
    () => `{"update_id": ${n}, "x": ${'['.repeat(int(20_000))}${']'.repeat(int(20_000))}}`,
    () => `{"update_id": ${n}, "x": ${'{"a":'.repeat(int(300))}1${'}'.repeat(int(300))}}`,
    () =>
      `{"update_id": ${pick(['1e308', '1e400', '-0', '0', '123456789012345678901234567890', '9007199254740991', '0.0000001', '-1', 'true', '"1"', '[1]', '{}'])}}`,
    () =>
      `{"update_id": ${2_000_000 + n}, "__proto__": {"admin": true}, "constructor": {"prototype": {"x": 1}}, "message": {"__proto__": {"chat": {"id": 1}}}}`,
    () =>
      JSON.stringify({
        update_id: 3_000_000 + n,
        message: { chat: { id: pick([1e308, -1, 'x', null, [], 2 ** 60]) } },
      }),
    () => `{"update_id": ${4_000_000 + n}, "text": "${unicode()}"}`,
    () =>
      pick([
        '',
        ' ',
        'null',
        '[]',
        '""',
        '{}',
        '{"update_id":}',
        '\ufeff{}',
        '{"update_id":1}{"update_id":2}',
      ]),
    () => JSON.stringify({ update_id: 5_000_000 + n, blob: 'z'.repeat(int(1_200_000)) }),
  ];
  // Three cases in four are authenticated, so most of the run exercises body handling.
  const authenticated = rand() < 0.75;
  const [secret, path] = authenticated
    ? pick([
        [BOT_A.webhookSecret, '/telegram/webhook'],
        [BOT_A.webhookSecret, '/telegram/webhook/alpha'],
        [BOT_B.webhookSecret, '/telegram/webhook'],
        [BOT_B.webhookSecret, '/telegram/webhook/beta'],
        [BOT_A.webhookSecret, `/telegram/webhook?x=${'q'.repeat(int(3000))}`],
      ])
    : [
        pick([BOT_A.webhookSecret, BOT_B.webhookSecret, '', 'wrong', 'A'.repeat(300), unicodeSafe(rand)]),
        pick([
          '/telegram/webhook',
          '/telegram/webhook/alpha',
          '/telegram/webhook/nobody',
          '/telegram/webhook/%00',
          '/telegram/webhook/..%2f..%2fetc',
          '/cursor-runner/callback?secret=x',
          '/telegram/webhook/alpha/extra',
        ]),
      ];
  const contentType =
    rand() < 0.7
      ? pick(['application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', ''])
      : pick([
          'text/plain',
          'application/x-www-form-urlencoded',
          'application/json;;;',
          '*/*',
          'a'.repeat(2000),
        ]);
  const headers: Record<string, string> = {};
  if (secret !== '') headers['x-telegram-bot-api-secret-token'] = secret;
  if (contentType !== '') headers['content-type'] = contentType;
  if (rand() < 0.05) headers['content-encoding'] = pick(['gzip', 'identity', 'br']);
  if (rand() < 0.05) headers['x-junk'] = 'j'.repeat(int(20_000));
  return { path, headers, body: pick(bodies)() };
}

function unicodeSafe(rand: () => number): string {
  // Header values must be latin1; use the high half to probe non-ASCII handling.
  return Array.from({ length: 1 + Math.floor(rand() * 30) }, () =>
    String.fromCharCode(0xa0 + Math.floor(rand() * 90)),
  ).join('');
}

interface Outcome {
  status: number;
  text: string;
  contentType: string | undefined;
}

async function send(c: Case): Promise<Outcome | Error> {
  try {
    const res = await request(`${tg.url}${c.path}`, {
      method: 'POST',
      headers: c.headers,
      body: c.body,
      dispatcher: agent,
    });
    const text = await res.body.text();
    const ct = res.headers['content-type'];
    return { status: res.statusCode, text, contentType: typeof ct === 'string' ? ct : undefined };
  } catch (err) {
    return err as Error;
  }
}

/** Bytes straight onto a socket, for framing undici refuses to produce; resolves with the status line. */
async function raw(bytes: string): Promise<string> {
  return await new Promise(resolve => {
    const socket = connect(new URL(tg.url).port ? Number(new URL(tg.url).port) : 80, '127.0.0.1');
    let data = '';
    const done = () => {
      socket.destroy();
      resolve(data.split('\r\n')[0] ?? '');
    };
    socket.setTimeout(2000, done);
    socket.on('data', (c: Buffer) => {
      data += c.toString('latin1');
      if (data.includes('\r\n')) done();
    });
    socket.on('error', done);
    socket.on('close', done);
    socket.write(bytes);
  });
}

async function runCases(
  count: number,
  rand: () => number,
  offset: number,
): Promise<{ stored: number[]; errors: string[] }> {
  const stored: number[] = [];
  const errors: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const n = offset + next++;
      const c = makeCase(rand, n);
      const out = await send(c);
      if (out instanceof Error) {
        // A client-side refusal (undici validates some headers) is fine; a server reset is not.
        if (!/invalid|InvalidArgument|header/i.test(`${out.name} ${out.message}`)) {
          errors.push(`case ${n}: ${out.name}: ${out.message}`);
        }
        continue;
      }
      if (!ALLOWED.has(out.status)) errors.push(`case ${n}: status ${out.status} ${out.text.slice(0, 100)}`);
      if (out.status === 200) {
        if (!c.path.startsWith('/telegram/webhook')) errors.push(`case ${n}: 200 on ${c.path}`);
        else if (out.text !== 'OK') errors.push(`case ${n}: 200 with body ${out.text.slice(0, 50)}`);
        else {
          const text = Buffer.isBuffer(c.body) ? c.body.toString('utf8') : c.body;
          const id = (JSON.parse(text) as { update_id: number }).update_id;
          const bot = c.headers['x-telegram-bot-api-secret-token'] === BOT_B.webhookSecret ? 'beta' : 'alpha';
          // The body was accepted, so it is JSON with a valid update_id.
          stored.push(id);
          if ((await tg.probe.exists(`${tg.prefix}:updates:${updateJobId(bot, id)}`)) !== 1) {
            errors.push(`case ${n}: answered 200 but ${bot}/${id} is not stored`);
          }
        }
      } else if (![401, 404, 405, 429].includes(out.status)) {
        // Every refusal from our code is JSON but the webhook's 401/429 (text, as the seed); 431 comes
        // from node:http itself and has no body.
        if (out.status !== 431 && !(out.contentType ?? '').startsWith('application/json')) {
          errors.push(`case ${n}: ${out.status} with content-type ${out.contentType}`);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return { stored, errors };
}

// Thousands of requests: CPU-bound, so give a busy machine time (the bounds are on answers, not speed).
describe('POST /telegram/webhook (fuzz)', { timeout: 120_000 }, () => {
  it(`should answer thousands of hostile requests well-formed, store every 200, and keep memory flat (seed ${SEED})`, async () => {
    const rand = seededRandom(SEED);
    const warm = await runCases(500, rand, 0);
    expect(warm.errors, `seed ${SEED}`).toEqual([]);
    const before = settledMemory();
    const run = await runCases(3000, rand, 500);
    const after = settledMemory();
    expect(run.errors, `seed ${SEED}`).toEqual([]);
    // Some valid updates must have gone through, or the fuzzer only tested refusals.
    expect(run.stored.length).toBeGreaterThan(100);
    expect(after.heap - before.heap, `heap growth, seed ${SEED}`).toBeLessThan(32 * 1024 * 1024);
    expect(after.rss - before.rss, `rss growth, seed ${SEED}`).toBeLessThan(160 * 1024 * 1024);
    // Still serving normally afterwards.
    const final = await send({
      path: '/telegram/webhook',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': BOT_A.webhookSecret },
      body: JSON.stringify(messageUpdate(9_999_999)),
    });
    expect(final).toMatchObject({ status: 200, text: 'OK' });
  });

  it('should answer or close on broken HTTP framing without crashing', async () => {
    const head = (extra: string) =>
      `POST /telegram/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Telegram-Bot-Api-Secret-Token: ${BOT_A.webhookSecret}\r\n${extra}`;
    const cases = [
      head('Content-Length: abc\r\n\r\n{}'),
      head('Content-Length: -1\r\n\r\n{}'),
      head('Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}'),
      head('Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}'),
      head('Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n'),
      head('Content-Length: 99999999999999999999\r\n\r\n{}'),
      head(`Content-Length: ${2 * 1024 * 1024}\r\n\r\n{"update_id":`),
      `GARBAGE / HTTP/1.1\r\n\r\n`,
      `POST /telegram/webhook HTTP/9.9\r\n\r\n`,
      `POST /telegram/webhook HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(40_000)}\r\n\r\n`,
      `\u0000\u0001\u0002\r\n\r\n`,
    ];
    for (const bytes of cases) {
      const line = await raw(bytes);
      // Either a well-formed status line with a 4xx/5xx, or (for a body that never ends) a timeout.
      if (line !== '') {
        expect(line, JSON.stringify(bytes.slice(0, 120))).toMatch(/^HTTP\/1\.1 (4\d\d|5\d\d) /);
      }
    }
    const final = await send({
      path: '/telegram/webhook',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': BOT_A.webhookSecret },
      body: JSON.stringify(messageUpdate(9_999_998)),
    });
    expect(final).toMatchObject({ status: 200, text: 'OK' });
  });
});
