import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { ApiRejectedError, UpstreamUnreachableError } from '@telegram-receiver/core';
import { RedisServer, randomName } from '@telegram-receiver/testing';
import { SendLedger, StepInFlightError } from '../../src/ledger/send-ledger.ts';

let server: RedisServer;
let redis: Redis;

beforeAll(async () => {
  server = await RedisServer.start({ appendOnly: false });
  redis = new Redis(server.url);
});

afterAll(async () => {
  await redis.quit();
  await server.close();
});

const newLedger = () => new SendLedger({ redis, prefix: randomName('ledger') });

describe('SendLedger.once', () => {
  it('should run a step once and skip it on every later attempt', async () => {
    const ledger = newLedger();
    let calls = 0;
    const first = await ledger.once('bot:1:reply', async () => ++calls);
    const second = await ledger.once('bot:1:reply', async () => ++calls);
    expect(first).toEqual({ status: 'ran', value: 1 });
    expect(second).toEqual({ status: 'skipped', previous: 'done' });
    expect(calls).toBe(1);
    expect(await ledger.state('bot:1:reply')).toBe('done');
    expect(await redis.ttl(ledger.keyOf('bot:1:reply'))).toBeGreaterThan(86_000);
  });

  it('should keep steps of different keys apart', async () => {
    const ledger = newLedger();
    const a = await ledger.once('r1:reply:0', async () => 'a');
    const b = await ledger.once('r1:reply:1', async () => 'b');
    expect([a.status, b.status]).toEqual(['ran', 'ran']);
  });

  it('should not repeat a step whose outcome is unknown (a timeout may have delivered it)', async () => {
    const ledger = newLedger();
    const timeout = new UpstreamUnreachableError({
      service: 'telegram',
      method: 'sendMessage',
      phase: 'timeout',
    });
    const first = await ledger.once('k', async () => {
      throw timeout;
    });
    expect(first).toEqual({ status: 'unknown', error: timeout });
    let called = false;
    const retry = await ledger.once('k', async () => {
      called = true;
    });
    expect(retry).toEqual({ status: 'skipped', previous: 'pending' });
    expect(called).toBe(false);
  });

  it('should treat an ambiguous answer (an HTML 502 from a proxy) as possibly delivered', async () => {
    const ledger = newLedger();
    const proxy = new ApiRejectedError({
      service: 'telegram',
      method: 'sendMessage',
      status: 502,
      description: 'unexpected answer',
      ambiguous: true,
    });
    const first = await ledger.once('k', async () => {
      throw proxy;
    });
    expect(first.status).toBe('unknown');
    expect(await ledger.state('k')).toBe('pending');
  });

  it('should let a retry send again after a failure that certainly had no effect', async () => {
    const ledger = newLedger();
    const refused = new UpstreamUnreachableError({
      service: 'telegram',
      method: 'sendMessage',
      phase: 'connect',
    });
    await expect(
      ledger.once('k', async () => {
        throw refused;
      }),
    ).rejects.toBe(refused);
    expect(await ledger.state('k')).toBeUndefined();
    const tooMany = new ApiRejectedError({
      service: 'telegram',
      method: 'sendMessage',
      status: 429,
      description: 'Too Many Requests: retry after 1',
      retryAfter: 1,
    });
    await expect(
      ledger.once('k', async () => {
        throw tooMany;
      }),
    ).rejects.toBe(tooMany);
    const retry = await ledger.once('k', async () => 'sent');
    expect(retry).toEqual({ status: 'ran', value: 'sent' });
  });

  it('should assume an untyped error may have taken effect (a lost reply beats a duplicate)', async () => {
    const ledger = newLedger();
    const outcome = await ledger.once('k', async () => {
      throw new TypeError('boom');
    });
    expect(outcome.status).toBe('unknown');
    expect(await ledger.state('k')).toBe('pending');
  });

  it('should let exactly one of many concurrent attempts run the step', async () => {
    const ledger = newLedger();
    let calls = 0;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, () =>
        ledger.once('race', async () => {
          calls += 1;
          return calls;
        }),
      ),
    );
    expect(calls).toBe(1);
    // The others met the step in flight (or done): none ran it again.
    const ran = outcomes.filter(o => o.status === 'fulfilled' && o.value.status === 'ran');
    expect(ran).toHaveLength(1);
    for (const o of outcomes) {
      if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(StepInFlightError);
    }
  });

  it('should make a re-run wait for a step another live run is still performing, and skip it once done', async () => {
    const ledger = newLedger();
    let release!: () => void;
    const first = ledger.once(
      'slow',
      () => new Promise<string>(resolve => (release = () => resolve('sent'))),
    );
    await new Promise(resolve => setTimeout(resolve, 20));
    expect(await ledger.state('slow')).toBe('in-flight');
    const err = await ledger.once('slow', async () => 'again').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StepInFlightError);
    expect((err as StepInFlightError).retryInMs).toBeGreaterThan(0);
    release();
    expect(await first).toEqual({ status: 'ran', value: 'sent' });
    expect(await ledger.once('slow', async () => 'again')).toEqual({ status: 'skipped', previous: 'done' });
  });

  it('should skip, not wait for, a step whose run died (its lease lapsed): at most once', async () => {
    const ledger = new SendLedger({ redis, prefix: randomName('ledger'), leaseMs: 100 });
    // A claim whose holder never finished (SIGKILL): its lease ends 100 ms after the claim.
    await redis.set(ledger.keyOf('dead'), `pending:${Date.now() + 100}`, 'EX', 60);
    await expect(ledger.once('dead', async () => 'again')).rejects.toBeInstanceOf(StepInFlightError);
    await new Promise(resolve => setTimeout(resolve, 150));
    expect(await ledger.state('dead')).toBe('pending');
    expect(await ledger.once('dead', async () => 'again')).toEqual({
      status: 'skipped',
      previous: 'pending',
    });
  });

  it('should accept hostile keys without touching other keys', async () => {
    const ledger = newLedger();
    const hostile = `* ${'x'.repeat(2000)} \r\n DEL everything`;
    await redis.set('victim', 'alive');
    const outcome = await ledger.once(hostile, async () => 'ok');
    expect(outcome.status).toBe('ran');
    expect(await redis.get('victim')).toBe('alive');
    expect(await ledger.state(hostile)).toBe('done');
  });
});

describe('SendLedger.once with a record', () => {
  const record = (key: string) => ({ key, value: '{"chat_id":1}', ttlSeconds: 60 });

  it('should store the record before the step runs, on the attempt that claims it', async () => {
    const ledger = newLedger();
    const key = randomName('record');
    let seen: string | null = null;
    const outcome = await ledger.once(
      'k',
      async () => {
        seen = await redis.get(key);
        return 1;
      },
      { record: record(key) },
    );
    expect(outcome).toEqual({ status: 'ran', value: 1 });
    expect(seen).toBe('{"chat_id":1}');
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60);
  });

  it('should not bring back a record its consumer removed when the step already ran', async () => {
    const ledger = newLedger();
    const key = randomName('record');
    await ledger.once('k', async () => 1, { record: record(key) });
    await redis.del(key); // the callback consumed it
    let steps = 0;
    const retry = await ledger.once('k', async () => ++steps, { record: record(key) });
    expect(retry).toEqual({ status: 'skipped', previous: 'done' });
    expect(steps).toBe(0);
    expect(await redis.exists(key)).toBe(0);
  });

  it('should leave an existing record alone when another attempt holds the step', async () => {
    const ledger = newLedger();
    const key = randomName('record');
    let release: () => void = () => undefined;
    const running = ledger.once('k', () => new Promise<void>(resolve => (release = resolve)), {
      record: record(key),
    });
    await expect.poll(() => redis.exists(key)).toBe(1);
    const concurrent = ledger.once('k', async () => undefined, { record: record(key) });
    await expect(concurrent).rejects.toBeInstanceOf(StepInFlightError);
    expect(await redis.exists(key)).toBe(1);
    release();
    await running;
  });

  it('should give the step back when the record cannot be stored, so a retry does both', async () => {
    const ledger = newLedger();
    const key = randomName('record');
    // A negative TTL makes Redis refuse the SET while the claim goes through.
    await expect(
      ledger.once('k', async () => 1, { record: { key, value: 'x', ttlSeconds: -1 } }),
    ).rejects.toThrow(/expire/i);
    expect(await ledger.state('k')).toBeUndefined();
    const retry = await ledger.once('k', async () => 2, { record: record(key) });
    expect(retry).toEqual({ status: 'ran', value: 2 });
    expect(await redis.exists(key)).toBe(1);
  });
});

describe('SendLedger.forgo', () => {
  it('should give up a step that never ran, so a later attempt skips it', async () => {
    const ledger = newLedger();
    expect(await ledger.forgo('r:notice')).toBe('forgone');
    expect(await ledger.forgo('r:notice')).toBe('forgone');
    let called = false;
    const later = await ledger.once('r:notice', async () => {
      called = true;
    });
    expect(later).toEqual({ status: 'skipped', previous: 'forgone' });
    expect(called).toBe(false);
    expect(await ledger.state('r:notice')).toBe('forgone');
  });

  it('should report a step that already ran or may have', async () => {
    const ledger = newLedger();
    await ledger.once('done', async () => 'sent');
    await ledger.once('unknown', async () => {
      throw new UpstreamUnreachableError({ service: 'telegram', method: 'sendMessage', phase: 'timeout' });
    });
    expect(await ledger.forgo('done')).toBe('done');
    expect(await ledger.forgo('unknown')).toBe('pending');
  });

  it('should make the caller wait while a live run performs the step', async () => {
    const ledger = newLedger();
    let release!: () => void;
    const running = ledger.once('r:notice', () => new Promise<void>(resolve => (release = resolve)));
    await expect.poll(() => ledger.state('r:notice')).toBe('in-flight');
    await expect(ledger.forgo('r:notice')).rejects.toBeInstanceOf(StepInFlightError);
    release();
    await running;
    expect(await ledger.forgo('r:notice')).toBe('done');
  });
});

describe('SendLedger.reopen', () => {
  it('should let a forgone step run again, and leave a step that ran alone', async () => {
    const ledger = newLedger();
    await ledger.forgo('r:notice');
    expect(await ledger.reopen('r:notice')).toBe(true);
    expect(await ledger.state('r:notice')).toBeUndefined();
    expect(await ledger.once('r:notice', async () => 'sent')).toEqual({ status: 'ran', value: 'sent' });
    expect(await ledger.reopen('r:notice')).toBe(false);
    expect(await ledger.state('r:notice')).toBe('done');
  });
});
