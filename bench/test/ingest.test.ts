import { describe, expect, it } from 'vitest';
import { runIngest } from '../ingest.ts';

describe('runIngest', () => {
  it('should measure every phase of a target and keep secrets out of the report', async () => {
    const lines: string[] = [];
    const report = await runIngest({
      targets: ['raw-http'],
      rates: [200],
      rounds: 1,
      concurrency: 4,
      phaseMs: { warmUp: 200, saturation: 300, open: 300 },
      log: line => lines.push(line),
    });
    expect(report.rows.map(r => r.phase)).toEqual(['warm-up', 'saturation', 'open 200/s']);
    for (const row of report.rows) {
      expect(row.target).toBe('raw-http');
      expect(row.result.ok).toBeGreaterThan(0);
      expect(row.result.ok).toBe(row.result.sent);
    }
    expect(report.rows[1]!.result.connections).toBe(4);
    expect(report.rows[2]!.result.sent).toBe(60);
    expect(report.durability).toBeNull();
    const text = JSON.stringify(report) + lines.join('\n');
    expect(text).not.toContain('bench-token-aaaa');
    expect(text).not.toContain('bench-webhook-secret');
  });
});
