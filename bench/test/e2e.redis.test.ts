import { describe, expect, it } from 'vitest';
import { e2eMarkdown, runE2e } from '../e2e.ts';

describe('runE2e', () => {
  it('should follow every update from the webhook to exactly one cursor-runner call', async () => {
    const report = await runE2e({
      rates: [50],
      concurrency: 4,
      phaseMs: { warmUp: 300, saturation: 500, open: 600 },
      drainTimeoutMs: 30_000,
    });
    expect(report.rows.map(r => r.phase)).toEqual(['warm-up', 'saturation', 'open 50/s']);
    for (const row of report.rows) {
      expect(row.load.ok).toBe(row.load.sent);
      expect(row.missing).toBe(0);
      expect(row.duplicates).toBe(0);
      expect(row.cursorCalls).toBe(row.load.ok);
      expect(row.updatesPerSecond).toBeGreaterThan(0);
    }
    const open = report.rows[2]!;
    expect(open.latency?.count).toBe(30);
    expect(open.latency!.p50).toBeGreaterThanOrEqual(0);
    expect(report.rows[1]!.latency).toBeNull();
    expect(report.redisCommands?.length).toBeGreaterThan(0);
    const md = e2eMarkdown(report);
    expect(md).toMatch(/Redis: \d+ µs of Redis time per update/);
    expect(md).toContain('| every update reaches cursor-runner exactly once | all phases | yes |');
    expect(JSON.stringify(report) + md).not.toMatch(
      /bench-token-aaaa|bench-webhook-secret|bench-callback-secret/,
    );
  }, 120_000);
});
