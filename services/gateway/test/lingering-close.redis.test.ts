// Oversized bodies, sent the four ways a client can (Content-Length or chunked, with or without
// `Expect: 100-continue`), over raw sockets so nothing hides a reset: every client must read its
// 413, on every route with a body limit, and the gateway must stay bounded in memory.
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TelegramClientCache, createHttpAgent } from '@telegram-receiver/core';
import { RedisServer, settledMemory } from '@telegram-receiver/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LINGER_DEFAULTS } from '../src/lingering-close.ts';
import {
  BOT_A,
  CALLBACK_SECRET,
  messageUpdate,
  startGateway,
  storedKeys,
  type TestGateway,
} from './harness.ts';

type Framing = 'content-length' | 'chunked';

interface RawExchange {
  /** Everything the client read before the connection ended. */
  received: string;
  /** Whether a `100 Continue` was read before the final answer. */
  continued: boolean;
  /** The final answer's status (NaN when none was read). */
  status: number;
  /** Body bytes the client managed to hand to its socket. */
  sent: number;
}

const CHUNK = Buffer.alloc(64 * 1024, 'x');
const CRLF = Buffer.from('\r\n');

/**
 * POST `size` body bytes like curl does: with `expect`, the body waits for `100 Continue` (or for
 * a final answer, which means "do not send it"); the upload stops once a final answer is read.
 * `size` Infinity sends chunks until the server closes.
 */
async function rawPost(opts: {
  port: number;
  path: string;
  headers: Record<string, string>;
  framing: Framing;
  expect: boolean;
  size: number;
  /** Go on uploading after the final answer (a hostile client). @defaultValue false */
  keepSending?: boolean;
}): Promise<RawExchange> {
  const socket = connect(opts.port, '127.0.0.1');
  socket.setNoDelay(true);
  const head = [
    `POST ${opts.path} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Content-Type: application/json',
    ...Object.entries(opts.headers).map(([k, v]) => `${k}: ${v}`),
    opts.framing === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${opts.size}`,
    ...(opts.expect ? ['Expect: 100-continue'] : []),
    '',
    '',
  ].join('\r\n');
  let received = '';
  let final = false;
  let sent = 0;
  let uploading = false;

  const upload = () => {
    if (uploading) return;
    uploading = true;
    const pump = () => {
      while (!final && !socket.destroyed && sent < opts.size) {
        const n = Math.min(CHUNK.length, opts.size - sent);
        const piece = n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n);
        sent += n;
        const more = socket.write(
          opts.framing === 'chunked'
            ? Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), piece, CRLF])
            : piece,
        );
        if (!more) {
          socket.once('drain', pump);
          return;
        }
      }
      if (!final && !socket.destroyed && opts.framing === 'chunked') socket.write('0\r\n\r\n');
    };
    pump();
  };

  return await new Promise<RawExchange>(resolve => {
    const done = () => {
      const continued = /^HTTP\/1\.1 100 Continue\r\n\r\n/.test(received);
      const rest = continued ? received.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '') : received;
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(rest)?.[1] ?? Number.NaN);
      resolve({ received, continued, status, sent });
    };
    socket.on('data', (data: Buffer) => {
      received += data.toString('latin1');
      if (received.startsWith('HTTP/1.1 100 Continue\r\n\r\n') && received.length === 25) {
        upload();
        return;
      }
      // A final answer's head is here: stop uploading, as curl does.
      if (opts.keepSending !== true && /HTTP\/1\.1 (?!100)\d{3}[^\r]*\r\n/.test(received)) final = true;
    });
    socket.on('error', () => undefined);
    socket.once('close', done);
    socket.write(head);
    if (!opts.expect) upload();
  });
}

/** curl's final status code (`000` when it read no answer), whatever curl's exit code. */
async function curlPost(args: string[]): Promise<string> {
  return await new Promise(resolve => {
    execFile(
      'curl',
      ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '20', ...args],
      (_err, stdout) => resolve(String(stdout).trim()),
    );
  });
}

let server: RedisServer;
let tg: TestGateway;
let port: number;
let agent: ReturnType<typeof createHttpAgent> | undefined;

beforeAll(async () => {
  server = await RedisServer.start();
  // The admin routes exist only with their dependencies; the Bot API is never reached here.
  const bots = createHttpAgent();
  agent = bots;
  tg = await startGateway(
    server,
    { LOG_LEVEL: 'warn', TELEGRAM_WEBHOOK_BASE_URL: 'https://bots.example.test/' },
    { admin: () => ({ telegram: new TelegramClientCache({ baseUrl: 'http://127.0.0.1:9', agent: bots }) }) },
  );
  port = Number(new URL(tg.url).port);
});
afterAll(async () => {
  await tg?.close();
  await agent?.close();
  await server?.close();
});

const WAYS: { framing: Framing; expect: boolean }[] = [
  { framing: 'content-length', expect: false },
  { framing: 'content-length', expect: true },
  { framing: 'chunked', expect: false },
  { framing: 'chunked', expect: true },
];
const TWO_MIB = 2 * 1024 * 1024;
const webhookHeaders = { 'X-Telegram-Bot-Api-Secret-Token': BOT_A.webhookSecret };

// Hundreds of 2 MiB uploads: CPU-bound, so give a busy machine time (the bounds are on answers, not speed).
describe('an oversized request body', { timeout: 120_000 }, () => {
  for (const way of WAYS) {
    const name = `${way.framing}${way.expect ? ' + Expect: 100-continue' : ''}`;
    it(`should be answered 413 every time on the webhook (${name}, 100 times)`, async () => {
      const before = settledMemory();
      const statuses = new Map<number, number>();
      for (let i = 0; i < 100; i++) {
        const answer = await rawPost({
          port,
          path: '/telegram/webhook',
          headers: webhookHeaders,
          size: TWO_MIB,
          ...way,
        });
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        // With a declared length the refusal comes before 100 Continue: no body is sent at all.
        if (way.expect && way.framing === 'content-length') {
          expect(answer.continued).toBe(false);
          expect(answer.sent).toBe(0);
        }
      }
      expect(Object.fromEntries(statuses)).toEqual({ 413: 100 });
      expect(await storedKeys(tg)).toEqual([]);
      // 200 MiB went through; nothing of it is still held once it is refused (no body kept, no
      // socket leaked). RSS is left out: it stays at the burst's high-water mark by design.
      const after = settledMemory();
      expect(after.heap - before.heap).toBeLessThan(16 * 1024 * 1024);
      expect(after.buffers - before.buffers).toBeLessThan(16 * 1024 * 1024);
    });
  }

  it('should be answered 413 every time when curl posts it, each way (25 times)', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'tr-413-')), 'update.json');
    await writeFile(file, Buffer.alloc(TWO_MIB, 'x'));
    const ways: Record<string, string[]> = {
      'content-length': ['-H', 'Expect:'],
      'content-length + Expect': [],
      chunked: ['-H', 'Expect:', '-H', 'Transfer-Encoding: chunked'],
      'chunked + Expect': ['-H', 'Transfer-Encoding: chunked', '-H', 'Expect: 100-continue'],
    };
    const seen: Record<string, Record<string, number>> = {};
    for (const [way, flags] of Object.entries(ways)) {
      const codes: Record<string, number> = {};
      for (let i = 0; i < 25; i++) {
        const code = await curlPost([
          ...flags,
          '-H',
          'Content-Type: application/json',
          '-H',
          `X-Telegram-Bot-Api-Secret-Token: ${BOT_A.webhookSecret}`,
          '--data-binary',
          `@${file}`,
          `http://127.0.0.1:${port}/telegram/webhook`,
        ]);
        codes[code] = (codes[code] ?? 0) + 1;
      }
      seen[way] = codes;
    }
    expect(seen).toEqual(Object.fromEntries(Object.keys(ways).map(way => [way, { '413': 25 }])));
  });

  it('should be answered 413 on the callback and admin routes, each way', async () => {
    const adminPort = Number(new URL(tg.adminUrl).port);
    const routes: { port: number; path: string; headers: Record<string, string> }[] = [
      { port, path: '/cursor-runner/callback', headers: { 'X-Webhook-Secret': CALLBACK_SECRET } },
      { port: adminPort, path: '/telegram/set_webhook', headers: { 'X-Admin-Secret': CALLBACK_SECRET } },
    ];
    for (const route of routes) {
      for (const way of WAYS) {
        for (let i = 0; i < 10; i++) {
          const answer = await rawPost({ ...route, size: TWO_MIB, ...way });
          expect({ route: route.path, ...way, status: answer.status }).toEqual({
            route: route.path,
            ...way,
            status: 413,
          });
        }
      }
    }
  });

  it('should refuse a wrong secret before 100 Continue, and drain a body sent anyway', async () => {
    const waiting = await rawPost({
      port,
      path: '/telegram/webhook',
      headers: { 'X-Telegram-Bot-Api-Secret-Token': 'wrong' },
      framing: 'content-length',
      expect: true,
      size: TWO_MIB,
    });
    expect(waiting).toMatchObject({ status: 401, continued: false, sent: 0 });
    for (const framing of ['content-length', 'chunked'] as const) {
      const pushing = await rawPost({
        port,
        path: '/telegram/webhook',
        headers: { 'X-Telegram-Bot-Api-Secret-Token': 'wrong' },
        framing,
        expect: false,
        size: TWO_MIB,
      });
      expect(pushing.status).toBe(401);
    }
  });

  it('should close an endless upload after its 413 once the drain has read its limit', async () => {
    const answer = await rawPost({
      port,
      path: '/telegram/webhook',
      headers: webhookHeaders,
      framing: 'chunked',
      expect: false,
      size: Number.POSITIVE_INFINITY,
      keepSending: true,
    });
    expect(answer.status).toBe(413);
    expect(answer.received).toMatch(/\r\nconnection: close\r\n/i);
    // The server closed the connection (the client never stops): after the body limit and at
    // most the drain's byte limit, plus what the socket buffers held.
    expect(answer.sent).toBeGreaterThan(tg.config.BODY_LIMIT_BYTES);
    expect(answer.sent).toBeLessThan(
      tg.config.BODY_LIMIT_BYTES + LINGER_DEFAULTS.maxBytes + 16 * 1024 * 1024,
    );
  });

  it('should close a stalled upload after its 413 once the drain time is up', async () => {
    const started = performance.now();
    const answer = await rawPost({
      port,
      path: '/telegram/webhook',
      headers: webhookHeaders,
      framing: 'chunked',
      expect: false,
      size: Number.POSITIVE_INFINITY,
    });
    expect(answer.status).toBe(413);
    // The client stops at the 413 without ending its body: the drain's clock closes the socket.
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(LINGER_DEFAULTS.maxMs - 50);
    expect(elapsed).toBeLessThan(LINGER_DEFAULTS.maxMs + 5000);
  });

  it('should still store an update sent with Expect: 100-continue', async () => {
    const body = JSON.stringify(messageUpdate(5150));
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const closed = new Promise<void>(resolve => socket.once('close', () => resolve()));
    socket.on('data', (data: Buffer) => {
      received += data.toString('latin1');
      if (received === 'HTTP/1.1 100 Continue\r\n\r\n') socket.write(body);
      if (/\r\n\r\nOK$/.test(received)) socket.end();
    });
    socket.write(
      [
        'POST /telegram/webhook HTTP/1.1',
        'Host: 127.0.0.1',
        'Content-Type: application/json',
        `X-Telegram-Bot-Api-Secret-Token: ${BOT_A.webhookSecret}`,
        `Content-Length: ${Buffer.byteLength(body)}`,
        'Expect: 100-continue',
        '',
        '',
      ].join('\r\n'),
    );
    await closed;
    expect(received).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    expect((await storedKeys(tg)).length).toBeGreaterThan(0);
  });
});
