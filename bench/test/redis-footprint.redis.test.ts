import { describe, expect, it } from 'vitest';
import { keyPattern, redisFootprintMarkdown, runRedisFootprint } from '../redis-footprint.ts';

describe('keyPattern', () => {
  it('should replace the prefix and every id, and keep the names of kinds', () => {
    const prefix = '{bench-x1}';
    expect(keyPattern('{bench-x1}:updates:default-123', prefix)).toBe('{prefix}:updates:default-N');
    expect(keyPattern('{bench-x1}:callbacks:cb-telegram-17-ab3f9', prefix)).toBe(
      '{prefix}:callbacks:cb-telegram-N-N',
    );
    expect(keyPattern('{bench-x1}:ledger:telegram-5-9c:reply:0', prefix)).toBe(
      '{prefix}:ledger:telegram-N-N:reply:N',
    );
    expect(keyPattern('{bench-x1}:updates:de:default-7', prefix)).toBe('{prefix}:updates:de:default-N');
    expect(keyPattern('{bench-x1}:callbacks:cb-telegram-17-fcade', prefix)).toBe(
      '{prefix}:callbacks:cb-telegram-N-N',
    );
    expect(keyPattern('{bench-x1}:updates:events', prefix)).toBe('{prefix}:updates:events');
    expect(keyPattern('{bench-x1}:updates:completed', prefix)).toBe('{prefix}:updates:completed');
  });
});

describe('runRedisFootprint', () => {
  it("should group what Redis keeps after each prompt's round trip, with its size and TTL", async () => {
    const report = await runRedisFootprint({ updates: 60, rate: 60 });
    expect(report.updates).toBe(60);
    const family = (pattern: string) => report.families.find(f => f.pattern === pattern);
    // One finished job per update and per callback, kept without a TTL (BullMQ trims them)…
    expect(family('{prefix}:updates:default-N')).toMatchObject({ keys: 60, ttlSeconds: null });
    expect(family('{prefix}:callbacks:cb-telegram-N-N')?.keys).toBe(60);
    // …and the day-long keys: the update's dedup key and its send-ledger steps.
    const dedup = family('{prefix}:updates:de:default-N');
    expect(dedup?.keys).toBe(60);
    expect(dedup?.ttlSeconds).toBeGreaterThan(23 * 3600);
    expect(report.dayKeyBytesPerUpdate).toBeGreaterThan(0);
    expect(report.jobBytesPerUpdate).toBeGreaterThan(0);
    expect(report.usedMemoryDelta).toBeGreaterThan(0);
    expect(redisFootprintMarkdown(report)).toMatch(/Held a day \(TTL > 1 h\): \d+ B per update/);
  }, 120_000);
});
