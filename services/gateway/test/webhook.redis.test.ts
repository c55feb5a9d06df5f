// The webhook against a private redis-server: an update is answered 200 only once its job and lane
// entry are in Redis, everything else is refused without storing anything.
import { Readable } from 'node:stream';
import { updateJobId } from '@telegram-receiver/core';
import { RedisServer, laneInvariantViolations, laneJobIds, waitFor } from '@telegram-receiver/testing';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  BOT_A,
  BOT_B,
  messageUpdate,
  post,
  postUpdate,
  startGateway,
  storedKeys,
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
  tg = await startGateway(server);
});
afterEach(async () => {
  await tg.close();
});

describe('POST /telegram/webhook', () => {
  it('should store the job with id updateJobId(bot, id) and the lane entry before answering 200 OK', async () => {
    const answer = await postUpdate(tg, messageUpdate(1001, 77));
    expect(answer.status).toBe(200);
    expect(answer.text).toBe('OK');
    expect(answer.headers['content-type']).toMatch(/^text\/plain/);

    const job = await tg.queues.updates.getJob(updateJobId(BOT_A.name, 1001));
    expect(job?.data.bot).toBe(BOT_A.name);
    expect(job?.data.update).toEqual(messageUpdate(1001, 77));
    expect(job?.data.lane).toBe('chat:77');
    expect(typeof job?.data.receivedAt).toBe('number');

    expect(await laneJobIds(tg.probe, tg.prefix, `${BOT_A.name}:chat:77`)).toEqual({
      updates: [updateJobId(BOT_A.name, 1001)],
      callbacks: [],
    });
    expect(await laneInvariantViolations(tg.probe, tg.prefix)).toEqual([]);
  });

  it('should keep one job when the same update arrives twice, and count the second as a duplicate', async () => {
    expect((await postUpdate(tg, messageUpdate(2002))).status).toBe(200);
    expect((await postUpdate(tg, messageUpdate(2002, 4242, 'changed'))).status).toBe(200);
    const counts = await tg.queues.updates.getJobCounts('wait', 'prioritized', 'delayed', 'active');
    expect(counts.wait).toBe(1);
    const job = await tg.queues.updates.getJob(updateJobId(BOT_A.name, 2002));
    expect((job?.data.update as { message: { text: string } }).message.text).toBe('hello');
    const metrics = await tg.registry.metrics();
    expect(metrics).toContain('telegram_receiver_updates_enqueued_total{bot="alpha",result="new"} 1');
    expect(metrics).toContain('telegram_receiver_updates_enqueued_total{bot="alpha",result="duplicate"} 1');
  });

  it('should keep the same update_id of two bots apart', async () => {
    expect((await postUpdate(tg, messageUpdate(3003), BOT_A.webhookSecret)).status).toBe(200);
    expect((await postUpdate(tg, messageUpdate(3003), BOT_B.webhookSecret)).status).toBe(200);
    expect(await tg.queues.updates.getJob(updateJobId('alpha', 3003))).toBeDefined();
    expect((await tg.queues.updates.getJob(updateJobId('beta', 3003)))?.data.bot).toBe('beta');
  });

  it('should accept an update kind it does not know, without a lane', async () => {
    const answer = await postUpdate(tg, { update_id: 4004, brand_new_kind: { anything: [1, 2, 3] } });
    expect(answer.status).toBe(200);
    const job = await tg.queues.updates.getJob(updateJobId(BOT_A.name, 4004));
    expect(job?.data.lane).toBeNull();
    expect(await tg.probe.keys(`${tg.prefix}:lane:*`)).toEqual([]);
  });

  it('should accept a missing Content-Type and one with parameters', async () => {
    const noType = await request(`${tg.url}/telegram/webhook`, {
      method: 'POST',
      headers: { 'x-telegram-bot-api-secret-token': BOT_A.webhookSecret },
      body: JSON.stringify(messageUpdate(5005)),
    });
    expect(noType.statusCode).toBe(200);
    await noType.body.dump();
    const withCharset = await postUpdate(tg, messageUpdate(5006), BOT_A.webhookSecret);
    expect(withCharset.status).toBe(200);
    const upper = await post(`${tg.url}/telegram/webhook`, messageUpdate(5007), {
      'content-type': 'Application/JSON; charset=UTF-8',
      'x-telegram-bot-api-secret-token': BOT_A.webhookSecret,
    });
    expect(upper.status).toBe(200);
  });
});

describe('POST /telegram/webhook (authentication)', () => {
  it('should answer 401 Unauthorized and store nothing without a secret', async () => {
    const answer = await postUpdate(tg, messageUpdate(1), null);
    expect(answer.status).toBe(401);
    expect(answer.text).toBe('Unauthorized');
    expect(await storedKeys(tg)).toEqual([]);
  });

  it.each([
    ['a wrong secret', 'not-the-secret'],
    ['a prefix of the secret', BOT_A.webhookSecret.slice(0, -1)],
    ['the secret with a suffix', `${BOT_A.webhookSecret}x`],
    ['an empty secret', ''],
    ['an oversized secret', 'a'.repeat(5000)],
    ['the callback secret', 'callback-secret-9f8e7d'],
  ])('should answer 401 and store nothing with %s', async (_, secret) => {
    const answer = await postUpdate(tg, messageUpdate(2), secret);
    expect(answer.status).toBe(401);
    expect(answer.text).toBe('Unauthorized');
    expect(await storedKeys(tg)).toEqual([]);
  });

  it('should check the secret before reading the body', async () => {
    const answer = await postUpdate(tg, '{not json', 'wrong');
    expect(answer.status).toBe(401);
  });

  it('should never log the presented or configured secrets', async () => {
    await postUpdate(tg, messageUpdate(3), 'guess-Zx81');
    await postUpdate(tg, messageUpdate(4), BOT_A.webhookSecret);
    const log = tg.logLines.join('\n');
    expect(log).not.toContain(BOT_A.webhookSecret);
    expect(log).not.toContain('guess-Zx81');
  });
});

describe('POST /telegram/webhook/:bot', () => {
  it('should route by path when the secret belongs to that bot', async () => {
    const answer = await postUpdate(tg, messageUpdate(6006), BOT_B.webhookSecret, '/telegram/webhook/beta');
    expect(answer.status).toBe(200);
    expect((await tg.queues.updates.getJob(updateJobId('beta', 6006)))?.data.bot).toBe('beta');
  });

  it("should answer 401 to bot A's secret on bot B's path, and store nothing", async () => {
    const answer = await postUpdate(tg, messageUpdate(6007), BOT_A.webhookSecret, '/telegram/webhook/beta');
    expect(answer.status).toBe(401);
    expect(await storedKeys(tg)).toEqual([]);
  });

  it('should answer an unknown bot name exactly like a wrong secret', async () => {
    const unknown = await postUpdate(tg, messageUpdate(6008), BOT_A.webhookSecret, '/telegram/webhook/gamma');
    const wrong = await postUpdate(tg, messageUpdate(6008), 'nope', '/telegram/webhook/alpha');
    expect(unknown.status).toBe(401);
    expect(unknown.text).toBe(wrong.text);
    expect(unknown.headers['content-type']).toBe(wrong.headers['content-type']);
    expect(await storedKeys(tg)).toEqual([]);
  });
});

describe('POST /telegram/webhook (malformed input)', () => {
  it.each([
    ['malformed JSON', '{"update_id": 1,'],
    ['an empty body', ''],
    ['an array', '[{"update_id": 1}]'],
    ['a string', '"update"'],
    ['null', 'null'],
    ['a number', '42'],
    ['a missing update_id', '{"message": {"text": "hi"}}'],
    ['a string update_id', '{"update_id": "7"}'],
    ['a float update_id', '{"update_id": 7.5}'],
    ['a negative update_id', '{"update_id": -7}'],
    ['an unsafe integer update_id', '{"update_id": 9007199254740993}'],
    ['an infinite update_id', '{"update_id": 1e400}'],
    ['a null update_id', '{"update_id": null}'],
    ['an update_id only in __proto__', '{"__proto__": {"update_id": 7}}'],
    ['deeply nested JSON', `{"update_id": 8, "x": ${'['.repeat(5000)}${']'.repeat(5000)}}`],
    ['a BOM before the JSON', '\ufeff{"update_id": 9}'],
  ])('should answer 400 with a JSON error and store nothing for %s', async (_, body) => {
    const answer = await postUpdate(tg, body);
    expect(answer.status).toBe(400);
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    const parsed = JSON.parse(answer.text) as { ok: boolean; error: string };
    expect(parsed.ok).toBe(false);
    expect(parsed.error.length).toBeGreaterThan(0);
    expect(await storedKeys(tg)).toEqual([]);
  });

  it('should store an update whose keys look like prototype pollution as plain data', async () => {
    const body =
      '{"update_id": 9009, "__proto__": {"polluted": true}, "constructor": {"prototype": {"x": 1}}}';
    expect((await postUpdate(tg, body)).status).toBe(200);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const job = await tg.queues.updates.getJob(updateJobId(BOT_A.name, 9009));
    expect(Object.hasOwn(job?.data.update ?? {}, '__proto__')).toBe(true);
  });

  it.each([
    ['text/plain'],
    ['application/x-www-form-urlencoded'],
    ['multipart/form-data; boundary=x'],
    ['application/jsonx'],
  ])('should answer 415 to Content-Type %s and store nothing', async type => {
    const answer = await post(`${tg.url}/telegram/webhook`, messageUpdate(10), {
      'content-type': type,
      'x-telegram-bot-api-secret-token': BOT_A.webhookSecret,
    });
    expect(answer.status).toBe(415);
    expect(await storedKeys(tg)).toEqual([]);
  });

  it('should answer 415 to a compressed body', async () => {
    const answer = await post(`${tg.url}/telegram/webhook`, messageUpdate(11), {
      'content-encoding': 'gzip',
      'x-telegram-bot-api-secret-token': BOT_A.webhookSecret,
    });
    expect(answer.status).toBe(415);
    expect(await storedKeys(tg)).toEqual([]);
  });
});

describe('POST /telegram/webhook (size limit)', () => {
  const twoMiB = () => {
    const padding = 'x'.repeat(2 * 1024 * 1024);
    return JSON.stringify({ ...messageUpdate(12), padding });
  };

  it('should answer 413 to a 2 MiB body with Content-Length, and store nothing', async () => {
    const answer = await postUpdate(tg, twoMiB());
    expect(answer.status).toBe(413);
    expect(answer.headers.connection).toBe('close');
    expect(await storedKeys(tg)).toEqual([]);
  });

  it('should answer 413 to a chunked 2 MiB body as soon as it grows over the limit', async () => {
    const text = twoMiB();
    const chunks = (function* () {
      for (let i = 0; i < text.length; i += 64 * 1024) {
        yield Buffer.from(text.slice(i, i + 64 * 1024));
      }
    })();
    const res = await request(`${tg.url}/telegram/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': BOT_A.webhookSecret },
      body: Readable.from(chunks),
    }).catch((err: unknown) => err);
    // The gateway may close the socket while the client is still sending; either the 413 arrives
    // or the connection is cut. Never a 200, and never anything stored.
    if (!(res instanceof Error)) {
      expect((res as { statusCode: number }).statusCode).toBe(413);
      await (res as { body: { dump(): Promise<void> } }).body.dump();
    }
    expect(await storedKeys(tg)).toEqual([]);
  });

  it('should accept a body just under the limit', async () => {
    const base = JSON.stringify({ ...messageUpdate(13), padding: '' });
    const padding = 'y'.repeat(tg.config.BODY_LIMIT_BYTES - Buffer.byteLength(base));
    const body = JSON.stringify({ ...messageUpdate(13), padding });
    expect(Buffer.byteLength(body)).toBe(tg.config.BODY_LIMIT_BYTES);
    expect((await postUpdate(tg, body)).status).toBe(200);
  });
});

describe('POST /telegram/webhook (not durable)', () => {
  it('should answer 503 with Retry-After while Redis is down, and 200 again once it is back', async () => {
    expect((await postUpdate(tg, messageUpdate(14001))).status).toBe(200);
    await server.kill();
    try {
      const down = await postUpdate(tg, messageUpdate(14002));
      expect(down.status).toBe(503);
      expect(down.headers['retry-after']).toBe(String(tg.config.RETRY_AFTER_SECONDS));
      expect(JSON.parse(down.text)).toEqual({ ok: false, error: 'update not stored, retry later' });
    } finally {
      await server.restart();
    }
    const again = await waitFor(
      async () => {
        const answer = await postUpdate(tg, messageUpdate(14002));
        return answer.status === 200 ? answer : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100, message: 'gateway accepts updates after Redis restart' },
    );
    expect(again.text).toBe('OK');
    // AOF with appendfsync always: the update acknowledged before the crash survived it.
    expect(await tg.queues.updates.getJob(updateJobId(BOT_A.name, 14001))).toBeDefined();
    expect(await tg.queues.updates.getJob(updateJobId(BOT_A.name, 14002))).toBeDefined();
    const metrics = await tg.registry.metrics();
    expect(metrics).toMatch(/telegram_receiver_webhook_rejections_total\{reason="redis_unavailable"\} [1-9]/);
  });
});

describe('POST /telegram/webhook (backlog)', () => {
  let small: TestGateway;
  beforeEach(async () => {
    small = await startGateway(server, { MAX_BACKLOG: '3' });
  });
  afterEach(async () => {
    await small.close();
  });

  it('should answer 503 backlog_full with Retry-After once MAX_BACKLOG updates are waiting', async () => {
    for (let id = 1; id <= 3; id++) expect((await postUpdate(small, messageUpdate(id, id))).status).toBe(200);
    await waitFor(() => small.gateway.backlog.full, { message: 'backlog monitor sees 3 waiting jobs' });
    const refused = await postUpdate(small, messageUpdate(4, 4));
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe(String(small.config.RETRY_AFTER_SECONDS));
    expect(await small.queues.updates.getJob(updateJobId(BOT_A.name, 4))).toBeUndefined();
    expect(await small.registry.metrics()).toContain(
      'telegram_receiver_webhook_rejections_total{reason="backlog_full"} 1',
    );
    // Workers drain the queue → the gateway accepts again without a restart.
    await small.queues.updates.drain(true);
    await waitFor(() => !small.gateway.backlog.full, { message: 'backlog monitor sees the drained queue' });
    expect((await postUpdate(small, messageUpdate(4, 4))).status).toBe(200);
  });
});

describe('POST /telegram/webhook (Redis down at start-up)', () => {
  it('should listen, answer 503 at once, and store updates once Redis comes up', async () => {
    await server.kill();
    let late: TestGateway | undefined;
    try {
      late = await startGateway(server, {}, { startupRedisWaitMs: 300 });
      const started = performance.now();
      const down = await postUpdate(late, messageUpdate(15001));
      expect(down.status).toBe(503);
      expect(down.headers['retry-after']).toBe(String(late.config.RETRY_AFTER_SECONDS));
      expect(performance.now() - started).toBeLessThan(2000);
      expect((await request(`${late.url}/health`)).statusCode).toBe(200);
      await server.restart();
      const gw = late;
      await waitFor(async () => (await postUpdate(gw, messageUpdate(15001))).status === 200, {
        timeoutMs: 10_000,
        intervalMs: 100,
        message: 'gateway accepts updates once Redis is up',
      });
      expect(await gw.queues.updates.getJob(updateJobId(BOT_A.name, 15001))).toBeDefined();
    } finally {
      if (!server.running) await server.restart();
      await late?.close();
    }
  });
});

describe('POST /telegram/webhook with REDIS_WAIT_REPLICAS', () => {
  it('should answer 503 + Retry-After when fewer replicas than asked hold the update in time', async () => {
    const strict = await startGateway(server, { REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '50' });
    try {
      // This redis-server has no replica: WAIT 1 answers 0.
      const answer = await postUpdate(strict, messageUpdate(9001));
      expect(answer.status).toBe(503);
      expect(answer.headers['retry-after']).toBe(String(strict.config.RETRY_AFTER_SECONDS));
    } finally {
      await strict.close();
    }
  });
});
