import { SEED_NUMBERS, type IngestReport, type PhaseRow, type TargetName } from '../ingest.ts';
import type { LoadResult } from './load.ts';
import { perUpdate } from './redis-command-stats.ts';

/** A ratio the design cares about, with its target when it has one. */
export interface Ratio {
  name: string;
  value: number | null;
  unit: string;
  target: string | null;
  /** `null` when there is no target or the inputs are missing. */
  met: boolean | null;
  note?: string;
}

const NAMES: Record<TargetName, string> = {
  'raw-http': 'raw node:http',
  'grammy-koa': 'grammY koa (no-op)',
  gateway: 'gateway (Redis AOF everysec)',
  'gateway-traced-0.1': 'gateway, tracing sampled 0.1',
  'gateway-traced-1.0': 'gateway, tracing sampled 1.0',
};

const fmt = (n: number, digits = 2) => n.toFixed(digits);
/** CPU microseconds per request: steadier than req/s on a machine other work shares. */
const perRequest = (cpuSeconds: number | null, requests: number) =>
  cpuSeconds === null || requests === 0 ? '—' : String(Math.round((cpuSeconds * 1e6) / requests));
const int = (n: number) => Math.round(n).toLocaleString('en-US');

function find(report: IngestReport, target: TargetName, phase: string): PhaseRow | undefined {
  return report.rows.find(r => r.target === target && r.phase === phase);
}

/**
 * A target's saturation rounds: the median achieved rate (robust to a burst of other work in one
 * round) and the CPU per request of server + Redis over all rounds.
 */
export function saturation(
  report: IngestReport,
  target: TargetName,
): { rate?: number; cpuPerRequest?: number; rounds: number } {
  const rows = report.rows.filter(r => r.target === target && r.phase.startsWith('saturation'));
  if (rows.length === 0) return { rounds: 0 };
  const rates = rows.map(r => r.result.achievedRate).sort((a, b) => a - b);
  const mid = Math.floor(rates.length / 2);
  const rate = rates.length % 2 === 1 ? rates[mid]! : (rates[mid - 1]! + rates[mid]!) / 2;
  const sent = rows.reduce((sum, r) => sum + r.result.sent, 0);
  const measured = rows.every(r => r.serverCpuSeconds !== null);
  const cpu = rows.reduce((sum, r) => sum + (r.serverCpuSeconds ?? 0) + (r.redisCpuSeconds ?? 0), 0);
  return { rate, rounds: rows.length, ...(measured && sent > 0 ? { cpuPerRequest: cpu / sent } : {}) };
}

/** Failed requests, and the raw server's p99 in the same phase: the machine's own noise floor. */
function p99Note(gw?: LoadResult, raw?: LoadResult): { note?: string } {
  const notes: string[] = [];
  if (gw && gw.ok !== gw.sent) notes.push(`${gw.sent - gw.ok} of ${gw.sent} not answered 200`);
  if (raw) notes.push(`raw node:http p99 in the same phase: ${fmt(raw.latency.p99)} ms`);
  return notes.length > 0 ? { note: notes.join('; ') } : {};
}

/** The ratios from the brief: gateway vs the raw limit, vs grammY, vs the seed; p99 at 2,000 req/s. */
export function ingestRatios(report: IngestReport): Ratio[] {
  const gwSat = saturation(report, 'gateway');
  const rawSat = saturation(report, 'raw-http');
  const gw = gwSat.rate;
  const raw = rawSat.rate;
  const grammy = saturation(report, 'grammy-koa').rate;
  const label = gwSat.rounds > 1 ? `saturation, median of ${gwSat.rounds} rounds` : 'saturation';
  const gw2k = find(report, 'gateway', 'open 2000/s')?.result;
  const div = (a?: number, b?: number) => (a === undefined || b === undefined || b === 0 ? null : a / b);
  const ratios: Ratio[] = [];
  const sat = div(gw, raw);
  ratios.push({
    name: `gateway ÷ raw node:http (${label})`,
    value: sat,
    unit: '×',
    target: '≥ 0.5',
    met: sat === null ? null : sat >= 0.5,
  });
  const okAll = gw2k ? gw2k.ok === gw2k.sent : false;
  ratios.push({
    name: 'gateway p99 at 2,000 req/s (open loop, from scheduled time)',
    value: gw2k ? gw2k.latency.p99 : null,
    unit: 'ms',
    target: '≤ 10 ms, all answered 200',
    met: gw2k ? gw2k.latency.p99 <= 10 && okAll : null,
    ...p99Note(gw2k, find(report, 'raw-http', 'open 2000/s')?.result),
  });
  ratios.push({
    name: `CPU per request, gateway (+ Redis) ÷ raw node:http (${label})`,
    value: div(gwSat.cpuPerRequest, rawSat.cpuPerRequest),
    unit: '×',
    target: null,
    met: null,
    note: 'independent of how busy the shared machine was',
  });
  ratios.push({
    name: `gateway ÷ grammY koa (${label})`,
    value: div(gw, grammy),
    unit: '×',
    target: null,
    met: null,
  });
  ratios.push({
    name: `gateway ÷ seed ack path (${int(SEED_NUMBERS.ackPath)} req/s)`,
    value: div(gw, SEED_NUMBERS.ackPath),
    unit: '×',
    target: null,
    met: null,
    note: 'the seed acknowledged before storing anything',
  });
  ratios.push({
    name: `gateway ÷ seed message path (${int(SEED_NUMBERS.messagePath)} req/s)`,
    value: div(gw, SEED_NUMBERS.messagePath),
    unit: '×',
    target: null,
    met: null,
  });
  for (const [target, limit] of [
    ['gateway-traced-0.1', 0.9],
    ['gateway-traced-1.0', null],
  ] as const) {
    const traced = saturation(report, target);
    if (traced.rounds === 0) continue;
    const ratio = div(traced.rate, gw);
    ratios.push({
      name: `${NAMES[target]} ÷ gateway without tracing (${label})`,
      value: ratio,
      unit: '×',
      target: limit === null ? null : `≥ ${limit} (loss ≤ ${Math.round((1 - limit) * 100)} %)`,
      met: limit === null || ratio === null ? null : ratio >= limit,
      note: `CPU per request ${div(traced.cpuPerRequest, gwSat.cpuPerRequest)?.toFixed(2) ?? '—'}× the untraced gateway's`,
    });
  }
  if (report.durability) {
    ratios.push({
      name: 'durability: jobs in Redis ÷ answers 200',
      value: div(report.durability.jobs, report.durability.answered200),
      unit: '×',
      target: 'exactly 1 (every 200 is a job)',
      met: report.durability.ok,
      note: `${int(report.durability.jobs)} jobs, ${int(report.durability.answered200)} answers 200`,
    });
  }
  return ratios;
}

/** The results as Markdown: one row per phase, the seed's constant rows, then the ratios. */
export function ingestMarkdown(report: IngestReport): string {
  const lines = [
    '| target | phase | mode | rate asked | achieved req/s | ok % | p50 ms | p95 ms | p99 ms | max ms | CPU µs/req server | redis | generator | other work, cores |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of report.rows) {
    const r = row.result;
    const okPct = r.sent === 0 ? 0 : (100 * r.ok) / r.sent;
    const mode = r.mode === 'open' ? 'open loop' : `closed, ${r.connections} conns`;
    lines.push(
      `| ${NAMES[row.target]} | ${row.phase} | ${mode} | ${r.rateAsked === null ? '—' : int(r.rateAsked)} | ` +
        `${int(r.achievedRate)} | ${fmt(okPct, okPct === 100 ? 0 : 2)} | ${fmt(r.latency.p50)} | ${fmt(r.latency.p95)} | ` +
        `${fmt(r.latency.p99)} | ${fmt(r.latency.max)} | ${perRequest(row.serverCpuSeconds, r.sent)} | ` +
        `${perRequest(row.redisCpuSeconds, r.sent)} | ${perRequest(r.generatorCpuSeconds, r.sent)} | ` +
        `${row.otherCpuShare === null ? '—' : fmt(row.otherCpuShare)} |`,
    );
  }
  lines.push(
    `| seed (published) | ack path | — | — | ${int(SEED_NUMBERS.ackPath)} | — | — | — | — | — | — | — | — | — |`,
    `| seed (published) | message path | — | — | ${int(SEED_NUMBERS.messagePath)} | — | — | — | — | — | — | — | — | — |`,
  );
  for (const s of report.skipped) {
    lines.push(`| ${NAMES[s.target]} | skipped: ${s.reason} | | | | | | | | | | | | |`);
  }
  const errorRows = report.rows.filter(r => Object.keys(r.result.errors).length > 0);
  if (errorRows.length > 0) {
    lines.push('', 'Errors by kind:', '');
    for (const r of errorRows) {
      lines.push(`- ${NAMES[r.target]}, ${r.phase}: ${JSON.stringify(r.result.errors)}`);
    }
  }
  if (report.redisCommands && report.durability) {
    lines.push('', `Gateway's Redis: ${perUpdate(report.redisCommands, report.durability.answered200)}.`);
  }
  lines.push('', '| ratio | value | target | met |', '| --- | ---: | --- | --- |');
  for (const ratio of ingestRatios(report)) {
    const value = ratio.value === null ? 'n/a' : `${fmt(ratio.value)} ${ratio.unit}`;
    const met = ratio.met === null ? '—' : ratio.met ? 'yes' : '**no**';
    lines.push(
      `| ${ratio.name}${ratio.note ? ` (${ratio.note})` : ''} | ${value} | ${ratio.target ?? '—'} | ${met} |`,
    );
  }
  return lines.join('\n');
}
