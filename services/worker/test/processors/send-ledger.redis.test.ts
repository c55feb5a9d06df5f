import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { ApiRejectedError, UpstreamUnreachableError } from '@telegram-receiver/core';
import { RedisServer, randomName } from '@telegram-receiver/testing';
import { SendLedger } from '../../src/ledger/send-ledger.ts';

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
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () =>
        ledger.once('race', async () => {
          calls += 1;
          return calls;
        }),
      ),
    );
    expect(calls).toBe(1);
    expect(outcomes.filter(o => o.status === 'ran')).toHaveLength(1);
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

describe('SendLedger.once with prepare', () => {
  it('should prepare right before the step, only on the attempt that claims it', async () => {
    const ledger = newLedger();
    const order: string[] = [];
    const first = await ledger.once(
      'k',
      async () => {
        order.push('step');
        return 1;
      },
      { prepare: async () => order.push('prepare') },
    );
    const retry = await ledger.once(
      'k',
      async () => {
        order.push('step again');
        return 2;
      },
      { prepare: async () => order.push('prepare again') },
    );
    expect(first).toEqual({ status: 'ran', value: 1 });
    expect(retry).toEqual({ status: 'skipped', previous: 'done' });
    expect(order).toEqual(['prepare', 'step']);
  });

  it('should give the step back and skip it when prepare fails, so a retry does both', async () => {
    const ledger = newLedger();
    let steps = 0;
    const failure = new Error('could not store the record');
    await expect(
      ledger.once('k', async () => ++steps, {
        prepare: async () => {
          throw failure;
        },
      }),
    ).rejects.toBe(failure);
    expect(steps).toBe(0);
    expect(await ledger.state('k')).toBeUndefined();
    const retry = await ledger.once('k', async () => ++steps, { prepare: async () => undefined });
    expect(retry).toEqual({ status: 'ran', value: 1 });
  });

  it('should not prepare while another attempt holds the step', async () => {
    const ledger = newLedger();
    let prepared = 0;
    let release: () => void = () => undefined;
    const running = ledger.once('k', () => new Promise<void>(resolve => (release = resolve)), {
      prepare: async () => prepared++,
    });
    await expect.poll(() => prepared).toBe(1);
    const concurrent = await ledger.once('k', async () => undefined, { prepare: async () => prepared++ });
    expect(concurrent).toEqual({ status: 'skipped', previous: 'pending' });
    release();
    await running;
    expect(prepared).toBe(1);
  });
});
