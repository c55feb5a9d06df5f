import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePrometheusText, type MetricSample } from '@telegram-receiver/testing';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSoak, soakMarkdown, type SoakReport } from '../soak.ts';

/** A metric family's name: histogram and summary series share their base name. */
const family = (name: string) => name.replace(/_(bucket|sum|count|created|total)$/, '');

describe('runSoak', () => {
  let dir: string;
  let report: SoakReport;
  /** Every service's /metrics, scraped after the traffic while the stack still runs. */
  const scrapes = new Map<string, MetricSample[]>();
  /** Every service's command line (NUL-separated arguments). */
  const cmdlines = new Map<string, string[]>();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'soak-'));
    report = await runSoak({
      rate: 40,
      durationMs: 5000,
      fullGcIntervalMs: 1500,
      plotFile: join(dir, 'soak.png'),
      drainTimeoutMs: 15_000,
      async beforeStop(services) {
        for (const s of services) {
          cmdlines.set(s.name, (await readFile(`/proc/${s.pid}/cmdline`, 'utf8')).split('\0'));
          const res = await request(`${s.opsUrl!}/metrics`);
          scrapes.set(s.name, parsePrometheusText(await res.body.text()));
        }
      },
    });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('should sample every process each second and answer every accepted update exactly once', async () => {
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
    expect(report.updates.drained).toBe(true);
    expect(report.updates.lost).toBe(0);
    expect(report.updates.duplicated).toBe(0);
    expect(report.updates.replied).toBe(report.updates.accepted);
    expect(report.trends.find(t => t.name === 'gateway')?.heapFloorMbPerHour).not.toBeNull();
    const png = await readFile(join(dir, 'soak.png'));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(soakMarkdown(report)).toMatch(/\*\*lost 0\*\*.*\*\*duplicated 0\*\*/);
  });

  it('should run the services as the chart does: their bundles, with the production Node options', () => {
    for (const name of ['gateway', 'worker', 'metrics']) {
      const args = cmdlines.get(name)!;
      expect(args.find(a => a.endsWith('main.js') || a.endsWith('main.ts'))).toMatch(
        new RegExp(`services/${name}/dist/main\\.js$`),
      );
      expect(args).toContain('--conditions=production');
      expect(args.some(a => a.startsWith('--max-old-space-size='))).toBe(true);
    }
  });

  it('should record when Redis persisted in the background, and the event-loop slope without those samples', () => {
    expect(report.redisPersisting).toHaveLength(report.sampleAtS.length);
    for (const t of report.trends.filter(t => ['gateway', 'worker', 'metrics'].includes(t.name))) {
      expect(t.eventLoopP99MsPerHourOutsideRedisSaves).not.toBeNull();
    }
    expect(soakMarkdown(report)).toMatch(/Redis persisted in the background .* during \d+ of \d+ samples/);
  });

  it('should label no metric with a chat id, an update id or a URL, and keep few series per metric', () => {
    // 200 updates from 200 different chats went through: a per-chat or per-update label would show
    // as ids (9 digits) and as hundreds of series in one family.
    expect([...scrapes.keys()]).toEqual(['gateway', 'worker', 'metrics']);
    for (const [service, samples] of scrapes) {
      expect(samples.length).toBeGreaterThan(50);
      const seriesPerFamily = new Map<string, Set<string>>();
      for (const { name, labels } of samples) {
        for (const [label, value] of Object.entries(labels)) {
          const where = `${service} ${name}{${label}="${value}"}`;
          expect(value, where).not.toMatch(/\d{6,}/);
          expect(value, where).not.toMatch(/:\/\/|\?|^www\./);
        }
        const { le: _le, quantile: _q, ...rest } = labels;
        const key = JSON.stringify(rest);
        const set = seriesPerFamily.get(family(name)) ?? new Set<string>();
        set.add(key);
        seriesPerFamily.set(family(name), set);
      }
      for (const [name, sets] of seriesPerFamily) {
        expect(sets.size, `${service} ${name}`).toBeLessThanOrEqual(40);
      }
    }
  });
});
