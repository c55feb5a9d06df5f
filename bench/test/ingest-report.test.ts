import { describe, expect, it } from 'vitest';
import type { IngestReport, PhaseRow, TargetName } from '../ingest.ts';
import { ingestMarkdown, ingestRatios } from '../lib/ingest-report.ts';
import type { LoadResult } from '../lib/load.ts';

const latency = (p99: number) => ({ count: 1, mean: 1, p50: 1, p95: p99 / 2, p99, p999: p99, max: p99 });

function row(
  target: TargetName,
  phase: string,
  achievedRate: number,
  extra: Partial<LoadResult> = {},
): PhaseRow {
  return {
    target,
    phase,
    serverCpuSeconds: 1,
    otherCpuShare: 0.25,
    redisCpuSeconds: target === 'gateway' ? 0.5 : null,
    result: {
      mode: phase.startsWith('open') ? 'open' : 'saturate',
      rateAsked: phase.startsWith('open') ? 2000 : null,
      connections: 64,
      sent: 100,
      ok: 100,
      errors: {},
      achievedRate,
      elapsedMs: 1000,
      startedAtEpochMs: 0,
      timeline: [],
      latency: latency(4),
      sendLag: null,
      generatorCpuSeconds: 0.5,
      ...extra,
    },
  };
}

function report(gatewaySat: number, gw2k: Partial<LoadResult>, jobs = 300): IngestReport {
  return {
    quick: true,
    rows: [
      row('raw-http', 'saturation', 10_000),
      row('grammy-koa', 'saturation', 4000),
      row('gateway', 'saturation', gatewaySat),
      row('gateway', 'open 2000/s', 2000, gw2k),
    ],
    skipped: [],
    durability: { answered200: 300, jobs, counts: { waiting: jobs }, ok: jobs === 300 },
    redisConfig: { appendonly: 'yes', appendfsync: 'everysec' },
    redisCommands: [
      { command: 'evalsha', calls: 300, usec: 18_000 },
      { command: 'zadd', calls: 300, usec: 1500 },
    ],
  };
}

describe('ingestRatios', () => {
  it('should mark the targets met when the gateway reaches them', () => {
    const ratios = ingestRatios(report(6000, { latency: latency(8) }));
    const byName = (prefix: string) => ratios.find(r => r.name.startsWith(prefix))!;
    expect(byName('gateway ÷ raw node:http')).toMatchObject({ value: 0.6, met: true });
    expect(byName('gateway p99 at 2,000')).toMatchObject({ value: 8, met: true });
    expect(byName('gateway ÷ grammY')).toMatchObject({ value: 1.5, met: null });
    expect(byName('gateway ÷ seed ack path')!.value).toBeCloseTo(6000 / 7000);
    expect(byName('durability')).toMatchObject({ value: 1, met: true });
    // Per request: gateway 1 s server + 0.5 s Redis, raw 1 s, both over 100 requests.
    expect(byName('CPU per request')).toMatchObject({ value: 1.5, met: null });
  });

  it('should mark them missed, including a fast p99 that hides failed requests', () => {
    const ratios = ingestRatios(
      report(4000, { latency: latency(3), ok: 90, errors: { 'status:503': 10 } }, 299),
    );
    const byName = (prefix: string) => ratios.find(r => r.name.startsWith(prefix))!;
    expect(byName('gateway ÷ raw node:http')).toMatchObject({ value: 0.4, met: false });
    expect(byName('gateway p99 at 2,000')).toMatchObject({ met: false, note: '10 of 100 not answered 200' });
    expect(byName('durability')).toMatchObject({ met: false });
  });

  it("should show the raw server's p99 in the same phase as the noise floor", () => {
    const r = report(6000, { latency: latency(30) });
    r.rows.push(row('raw-http', 'open 2000/s', 2000, { latency: latency(25) }));
    const p99 = ingestRatios(r).find(x => x.name.startsWith('gateway p99 at 2,000'))!;
    expect(p99).toMatchObject({
      value: 30,
      met: false,
      note: 'raw node:http p99 in the same phase: 25.00 ms',
    });
  });

  it('should use the median of the saturation rounds', () => {
    const r = report(6000, {});
    r.rows = [
      row('raw-http', 'saturation 1/3', 10_000),
      row('raw-http', 'saturation 2/3', 2000),
      row('raw-http', 'saturation 3/3', 12_000),
      row('gateway', 'saturation 1/3', 5000),
      row('gateway', 'saturation 2/3', 6000),
      row('gateway', 'saturation 3/3', 100),
    ];
    const ratio = ingestRatios(r).find(x => x.name.startsWith('gateway ÷ raw node:http'))!;
    expect(ratio).toMatchObject({
      name: 'gateway ÷ raw node:http (saturation, median of 3 rounds)',
      value: 0.5,
    });
    expect(ratio.met).toBe(true);
  });

  it('should say n/a when a target was not measured', () => {
    const ratios = ingestRatios({
      quick: true,
      rows: [],
      skipped: [],
      durability: null,
      redisConfig: null,
      redisCommands: null,
    });
    expect(ratios.every(r => r.value === null && r.met === null)).toBe(true);
  });
});

describe('ingestMarkdown', () => {
  it('should render one row per phase, the seed rows, errors and the ratios', () => {
    const md = ingestMarkdown(report(6000, { ok: 99, errors: { UND_ERR_SOCKET: 1 } }));
    expect(md).toContain(
      '| gateway (Redis AOF everysec) | open 2000/s | open loop | 2,000 | 2,000 | 99.00 |',
    );
    expect(md).toContain('| seed (published) | ack path | — | — | 7,000 |');
    expect(md).toContain('| seed (published) | message path | — | — | 1,100 |');
    expect(md).toContain('- gateway (Redis AOF everysec), open 2000/s: {"UND_ERR_SOCKET":1}');
    expect(md).toContain(
      "Gateway's Redis: 65 µs of Redis time per update (evalsha 1.00× 60 µs, zadd 1.00× 5 µs).",
    );
    expect(md).toMatch(/\| gateway ÷ raw node:http \(saturation\) \| 0\.60 × \| ≥ 0\.5 \| yes \|/);
  });
});
