import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runSoak, soakMarkdown } from '../soak.ts';

describe('runSoak', () => {
  let dir: string | undefined;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('should sample every process each second and answer every accepted update exactly once', async () => {
    dir = await mkdtemp(join(tmpdir(), 'soak-'));
    const report = await runSoak({
      rate: 40,
      durationMs: 5000,
      fullGcIntervalMs: 1500,
      plotFile: join(dir, 'soak.png'),
      drainTimeoutMs: 15_000,
    });
    expect(report.processes.map(p => p.name)).toEqual(['gateway', 'worker', 'metrics', 'sandbox', 'redis']);
    expect(report.sampleAtS.length).toBeGreaterThanOrEqual(5);
    for (const p of report.processes) {
      expect(p.rssMb).toHaveLength(report.sampleAtS.length);
      expect(p.rssMb.every(v => v !== null && v > 0)).toBe(true);
      if (!p.service) continue;
      // Heap and event-loop delay come from each service's own /metrics; the floor from forced GCs.
      expect(p.heapUsedMb.filter(v => v !== null && v > 1).length).toBeGreaterThan(0);
      expect(p.eventLoopP99Ms.filter(v => v !== null && v > 0).length).toBeGreaterThan(0);
      expect(p.heapAfterFullGc.length).toBeGreaterThanOrEqual(2);
    }
    expect(report.updates.sent).toBe(200);
    expect(report.updates.accepted).toBe(report.load.ok);
    expect(report.updates.lost).toBe(0);
    expect(report.updates.duplicated).toBe(0);
    expect(report.updates.replied).toBe(report.updates.accepted);
    expect(report.trends.find(t => t.name === 'gateway')?.heapFloorMbPerHour).not.toBeNull();
    const png = await readFile(join(dir, 'soak.png'));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(soakMarkdown(report)).toMatch(/\*\*lost 0\*\*.*\*\*duplicated 0\*\*/);
  });
});
