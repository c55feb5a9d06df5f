import { describe, expect, it } from 'vitest';
import { runIngest } from '../ingest.ts';

describe('runIngest', () => {
  it('should load the gateway and find exactly one job in Redis per 200', async () => {
    const report = await runIngest({
      targets: ['gateway'],
      rates: [200],
      rounds: 1,
      concurrency: 8,
      phaseMs: { warmUp: 300, saturation: 500, open: 500 },
    });
    expect(report.rows).toHaveLength(3);
    const answered = report.rows.reduce((sum, r) => sum + r.result.ok, 0);
    expect(answered).toBeGreaterThan(100);
    expect(report.durability).toMatchObject({ answered200: answered, jobs: answered, ok: true });
    expect(report.redisConfig).toMatchObject({ appendonly: 'yes', appendfsync: 'everysec' });
    expect(report.rows.every(r => r.redisCpuSeconds !== null)).toBe(true);
    // The gateway writes each batch of updates with one Lua call: at least one, at most one per update.
    const evalsha = report.redisCommands?.find(c => c.command === 'evalsha');
    expect(evalsha?.calls).toBeGreaterThan(0);
    expect(evalsha?.calls).toBeLessThanOrEqual(answered);
  }, 60_000);
});
