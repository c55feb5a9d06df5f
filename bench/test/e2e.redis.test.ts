import { describe, expect, it } from 'vitest';
import { e2eMarkdown, runE2e } from '../e2e.ts';

describe('runE2e', () => {
  it('should follow every update from the webhook to exactly one cursor-runner call', async () => {
    const report = await runE2e({
      rates: [50],
      roundTrips: [{ rate: 20, callbackDelayMs: 0 }],
      concurrency: 4,
      phaseMs: { warmUp: 300, saturation: 500, open: 600 },
      drainTimeoutMs: 30_000,
    });
    expect(report.rows.map(r => r.phase)).toEqual([
      'warm-up',
      'saturation',
      'open 50/s',
      'round trip 20/s, callback after 0 ms',
      'anchor saturation (BullMQ alone)',
    ]);
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
    // The round trip: every update's reply reached the sandbox's Telegram, once.
    const rt = report.rows[3]!;
    expect(rt.roundTrips).toBe(rt.load.ok);
    expect(rt.roundTrip?.count).toBe(12);
    expect(rt.roundTrip!.p50).toBeGreaterThanOrEqual(rt.latency!.p50);
    // The anchor ran on its own processes and forwarded every update too.
    expect(report.rows[4]!.target).toBe('anchor');
    expect(report.rows[4]!.redisCommands.some(c => c.command === 'evalsha')).toBe(true);
    expect(report.redisCommands?.length).toBeGreaterThan(0);
    const md = e2eMarkdown(report);
    expect(md).toMatch(/Redis: \d+ µs of Redis time per update/);
    expect(md).toMatch(/forward path at saturation ≥ 0.5 × the BullMQ anchor/);
    expect(md).toContain(
      '| every update reaches cursor-runner (and its reply Telegram) exactly once | all phases | yes |',
    );
    expect(JSON.stringify(report) + md).not.toMatch(
      /bench-token-aaaa|bench-webhook-secret|bench-callback-secret/,
    );
  }, 120_000);
});
