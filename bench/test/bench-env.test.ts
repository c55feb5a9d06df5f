import { describe, expect, it } from 'vitest';
import { BenchSettingError, ingestOptionsFromEnv } from '../lib/bench-env.ts';

describe('ingestOptionsFromEnv', () => {
  it('should use the defaults when nothing is set or values are empty', () => {
    expect(ingestOptionsFromEnv({})).toEqual({ quick: false });
    expect(
      ingestOptionsFromEnv({
        BENCH_QUICK: '',
        BENCH_TARGETS: ' ',
        BENCH_RATES: '',
        BENCH_CONCURRENCY: '',
        BENCH_ROUNDS: '',
      }),
    ).toEqual({ quick: false });
  });

  it('should read every setting', () => {
    expect(
      ingestOptionsFromEnv({
        BENCH_QUICK: '1',
        BENCH_TARGETS: 'gateway, raw-http,gateway',
        BENCH_RATES: '500,1500',
        BENCH_CONCURRENCY: '32',
        BENCH_ROUNDS: '5',
      }),
    ).toEqual({
      quick: true,
      rounds: 5,
      targets: ['gateway', 'raw-http'],
      rates: [500, 1500],
      concurrency: 32,
    });
  });

  it('should reject malformed values with a message that says what to set', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ BENCH_QUICK: 'yes' }, /BENCH_QUICK must be 1/],
      [
        { BENCH_TARGETS: 'nginx' },
        /unknown target\(s\) "nginx"; use a comma list of raw-http, grammy-koa, gateway/,
      ],
      [{ BENCH_TARGETS: ',' }, /BENCH_TARGETS/],
      [{ BENCH_RATES: 'fast' }, /BENCH_RATES: a comma list/],
      [{ BENCH_RATES: '1000,-1' }, /BENCH_RATES/],
      [{ BENCH_RATES: '1e9' }, /BENCH_RATES/],
      [{ BENCH_CONCURRENCY: '0' }, /BENCH_CONCURRENCY: an integer/],
      [{ BENCH_CONCURRENCY: '2.5' }, /BENCH_CONCURRENCY/],
      [{ BENCH_CONCURRENCY: '100000' }, /BENCH_CONCURRENCY/],
      [{ BENCH_ROUNDS: '0' }, /BENCH_ROUNDS: saturation rounds per target/],
      [{ BENCH_ROUNDS: 'many' }, /BENCH_ROUNDS/],
      [{ BENCH_ROUNDS: '11' }, /BENCH_ROUNDS/],
    ];
    for (const [env, message] of cases) {
      expect(() => ingestOptionsFromEnv(env)).toThrow(BenchSettingError);
      expect(() => ingestOptionsFromEnv(env)).toThrow(message);
    }
  });

  it('should not echo a hostile value at length', () => {
    const hostile = `${'x'.repeat(10_000)}\u001b[31m`;
    try {
      ingestOptionsFromEnv({ BENCH_TARGETS: hostile });
      expect.unreachable('should have thrown');
    } catch (err) {
      expect((err as Error).message.length).toBeLessThan(200);
      expect((err as Error).message).not.toContain('\u001b');
    }
  });
});
