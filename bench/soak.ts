import { mkdir, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { closeConnection, createWorkerConnection } from '@telegram-receiver/core';
import { freePort, parsePrometheusText, waitFor } from '@telegram-receiver/testing';
import { request } from 'undici';
import { indexOf, startBase, startOurs, type SandboxCall } from './e2e.ts';
import { BENCH_SECRET_HEADER } from './lib/fake-credentials.ts';
import { leastSquares } from './lib/least-squares.ts';
import type { LoadResult } from './lib/load.ts';
import { readProcesses, type WatchedProcess } from './lib/process-sampler.ts';
import { linePlotPng } from './lib/png-plot.ts';
import { InspectorSession } from './lib/inspector-session.ts';
import { LoadGeneratorProcess } from './lib/run-load.ts';
import { startServer, type ServerProcess } from './lib/server-process.ts';
import { buildAll, productionNodeArgs, type ServiceName } from '../scripts/build.ts';

/** The services as the chart runs them: their bundles (`make build`), with the production Node options. */
const builtEntry = (service: ServiceName) =>
  fileURLToPath(new URL(`../services/${service}/dist/main.js`, import.meta.url));

/** Options of {@link runSoak}. */
export interface SoakOptions {
  /** Updates per second, open loop; each prompt gets a cursor-runner callback and a reply. @defaultValue 300 */
  rate?: number;
  /** How long the load runs. */
  durationMs: number;
  /** Share of the run left out of the slopes (JIT, pools, caches filling). @defaultValue 0.2 */
  warmUpFraction?: number;
  /** Worker processes. @defaultValue 1 */
  workers?: number;
  /** Time between two samples of every process. @defaultValue 1000 */
  sampleIntervalMs?: number;
  /** Distinct chats the updates come from. @defaultValue 10000 */
  chats?: number;
  /**
   * Directory for heap snapshots of every service, taken at the end of the warm-up and near the end of
   * the load (SIGUSR2, `--heapsnapshot-signal`); undefined = none. @defaultValue undefined
   */
  snapshotDir?: string | undefined;
  /** Where the PNG plot of the samples goes; undefined = none. @defaultValue undefined */
  plotFile?: string | undefined;
  /**
   * Time between two forced full collections in every service (over the inspector), each followed by
   * a read of the heap still in use: the floor the slope is judged on. @defaultValue durationMs / 30, within 5–60 s
   */
  fullGcIntervalMs?: number;
  /** Longest wait for the last reply after the load stops. @defaultValue 60000 */
  drainTimeoutMs?: number;
  /** Called after the drain, while every process still runs (a test scrapes the services here). */
  beforeStop?: (services: WatchedProcess[]) => Promise<void>;
  log?: (line: string) => void;
}

/** The samples of one process: one value per sample time, `null` where unreadable. */
export interface ProcessSeries {
  name: string;
  /** Our services have heap and event-loop samples; Redis and the sandbox only RSS. */
  service: boolean;
  rssMb: (number | null)[];
  heapUsedMb: (number | null)[];
  eventLoopP99Ms: (number | null)[];
  /** Services: heap in use right after a forced full collection, at `atS` seconds. */
  heapAfterFullGc: { atS: number; mb: number }[];
}

/** Growth per hour after the warm-up (least squares), and the level it grew from. */
export interface ProcessTrend {
  name: string;
  rssMbPerHour: number | null;
  /** Over every sample (young-generation sawtooth included). */
  heapMbPerHour: number | null;
  /** Over the forced full collections: what stays alive (the judged figure). */
  heapFloorMbPerHour: number | null;
  eventLoopP99MsPerHour: number | null;
  /** The same slope without the samples taken while Redis persisted in the background (and 2 s after). */
  eventLoopP99MsPerHourOutsideRedisSaves: number | null;
  rssMb: { first: number | null; last: number | null; max: number | null };
  heapUsedMb: { median: number | null; max: number | null };
  heapAfterFullGcMb: { first: number | null; last: number | null };
  eventLoopP99Ms: { median: number | null; max: number | null };
}

export interface SoakReport {
  rate: number;
  durationMs: number;
  warmUpMs: number;
  workers: number;
  chats: number;
  load: Omit<LoadResult, 'timeline'>;
  /** Every update the gateway accepted must reach cursor-runner once and get exactly one reply (sendMessage). */
  updates: {
    sent: number;
    /** Answered 2xx by the gateway (the rest: Telegram would send them again). */
    accepted: number;
    forwarded: number;
    replied: number;
    /** Accepted updates with no cursor-runner call or no reply when the drain ended. */
    lost: number;
    /** Whether every accepted update was answered within the drain timeout. */
    drained: boolean;
    /** Jobs still waiting in Redis when the drain gave up (the system fell behind; they are not lost). */
    queuedAtEnd: number;
    /** Extra cursor-runner calls or replies for an update already served. */
    duplicated: number;
  };
  /** Seconds since the load started, one per sample. */
  sampleAtS: number[];
  /** 1-minute load average of the machine at each sample (other engineers share the cores). */
  loadAverage: number[];
  /** Redis used_memory (MiB) at each sample: keys left behind show here. */
  redisUsedMemoryMb: (number | null)[];
  /**
   * Whether Redis was rewriting its AOF or saving an RDB at each sample: a fork, then a child that
   * writes the whole dataset on the same cores, longer as the dataset grows.
   */
  redisPersisting: boolean[];
  processes: ProcessSeries[];
  trends: ProcessTrend[];
  redisUsedMemoryMbPerHour: number | null;
  /** Seconds (since the load start) at which heap snapshots were requested; samples just after are left out of the slopes. */
  snapshotsAtS: number[];
  /** Seconds at which full collections were forced; the sample just after is left out. */
  fullGcsAtS: number[];
  snapshots: { process: string; files: string[] }[];
  plotFile: string | null;
}

const HOUR_S = 3600;
/** A heap snapshot stops the process for seconds: its samples say nothing about the steady state. */
const AFTER_SNAPSHOT_S = 30;
/** A forced full collection stops the process for tens of ms: the next sample's event-loop p99 shows it. */
const AFTER_FULL_GC_S = 2;

const median = (values: (number | null)[]): number | null => {
  const v = values.filter((x): x is number => x !== null).sort((a, b) => a - b);
  return v.length === 0 ? null : v[Math.floor(v.length / 2)]!;
};
const max = (values: (number | null)[]): number | null => {
  const v = values.filter((x): x is number => x !== null);
  return v.length === 0 ? null : Math.max(...v);
};

/**
 * Counts sandbox calls per update index. Each poll asks only for the calls recorded since the last
 * one (`recorded_after`), so a 30-minute run reads every call once, whatever order calls end in.
 */
class CallCounter {
  readonly counts: Uint8Array;
  #recorded = 0;
  readonly #query: string;
  readonly #onlyOk: boolean;

  constructor(service: string, method: string, size: number, onlyOk: boolean) {
    this.counts = new Uint8Array(size);
    this.#query = `service=${service}&method=${method}`;
    this.#onlyOk = onlyOk;
  }

  async poll(sandboxUrl: string): Promise<void> {
    const res = await request(`${sandboxUrl}/sandbox/calls?${this.#query}&recorded_after=${this.#recorded}`);
    if (res.statusCode !== 200) throw new Error(`sandbox /sandbox/calls answered ${res.statusCode}`);
    const { calls, recorded } = (await res.body.json()) as {
      calls: SandboxCall[];
      recorded: number;
    };
    this.#recorded = recorded;
    for (const call of calls) {
      if (this.#onlyOk && call.status !== 200) continue;
      const i = indexOf(call);
      if (i !== undefined && i < this.counts.length) this.counts[i] = Math.min(255, this.counts[i]! + 1);
    }
  }

  /** Indices below `sent` seen at least once, and calls beyond the first. */
  tally(sent: number): { served: number; extra: number } {
    let served = 0;
    let extra = 0;
    for (let i = 0; i < sent; i++) {
      const c = this.counts[i]!;
      if (c > 0) served++;
      if (c > 1) extra += c - 1;
    }
    return { served, extra };
  }
}

/** Heap snapshot files Node wrote for `pid` in `dir` (`Heap.<date>.<time>.<pid>.<tid>.<seq>.heapsnapshot`). */
async function snapshotsOf(dir: string, pid: number): Promise<string[]> {
  return (await readdir(dir)).filter(
    f => f.startsWith('Heap.') && f.includes(`.${pid}.`) && f.endsWith('.heapsnapshot'),
  );
}

/** Signal every service to write a heap snapshot, and wait until each file is complete (its size settles). */
async function takeSnapshots(
  dir: string,
  services: WatchedProcess[],
  log: (l: string) => void,
): Promise<void> {
  const before = new Map(
    await Promise.all(services.map(async s => [s.pid, (await snapshotsOf(dir, s.pid)).length] as const)),
  );
  for (const s of services) process.kill(s.pid, 'SIGUSR2');
  for (const s of services) {
    let lastSize = -1;
    await waitFor(
      async () => {
        const files = await snapshotsOf(dir, s.pid);
        if (files.length <= (before.get(s.pid) ?? 0)) return false;
        const size = (await stat(`${dir}/${files.sort().at(-1)!}`)).size;
        const settled = size > 0 && size === lastSize;
        lastSize = size;
        return settled;
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
  }
  log(`  heap snapshots written for ${services.map(s => s.name).join(', ')}`);
}

/**
 * The whole stack (Redis, sandbox with callbacks, gateway, worker(s), metrics service) under a steady
 * open-loop load. Every process is sampled once a second (RSS from /proc, heap and event-loop delay
 * p99 from its /metrics); after the warm-up each series gets a least-squares slope per hour. Every
 * update must reach cursor-runner once and get one reply (counted from the sandbox's call record).
 */
export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  const log = opts.log ?? (() => undefined);
  const rate = opts.rate ?? 300;
  const workers = opts.workers ?? 1;
  const chats = opts.chats ?? 10_000;
  const intervalMs = opts.sampleIntervalMs ?? 1000;
  const warmUpMs = Math.round(opts.durationMs * (opts.warmUpFraction ?? 0.2));
  const expected = Math.ceil((rate * opts.durationMs) / 1000) + 1;
  const snapshotDir = opts.snapshotDir;
  if (snapshotDir !== undefined) await mkdir(snapshotDir, { recursive: true });
  const nodeArgs = (service: ServiceName) => [
    ...productionNodeArgs(service),
    '--inspect=127.0.0.1:0',
    ...(snapshotDir === undefined
      ? []
      : ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapshotDir}`]),
  ];
  const sessions: InspectorSession[] = [];

  log('build (make build)');
  await buildAll();
  log(`start redis, sandbox (callbacks on), gateway, ${workers} worker(s), metrics service (built)`);
  const gatewayPort = await freePort();
  const base = await startBase(gatewayPort);
  const redisInfo = createWorkerConnection({ url: base.redis.url, name: 'soak-stats' });
  let metrics: ServerProcess | undefined;
  let stopOurs: (() => Promise<void>) | undefined;
  const generator = LoadGeneratorProcess.start();
  try {
    const ours = await startOurs(
      base,
      gatewayPort,
      workers,
      32,
      { gateway: builtEntry('gateway'), worker: builtEntry('worker') },
      nodeArgs,
    );
    stopOurs = ours.stop;
    const metricsOps = await freePort();
    metrics = await startServer({
      entry: builtEntry('metrics'),
      port: metricsOps,
      nodeArgs: nodeArgs('metrics'),
      env: {
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        REDIS_URL: base.redis.url,
        QUEUE_PREFIX: ours.queuePrefix ?? '',
        OPS_PORT: String(metricsOps),
      },
    });
    const services: (WatchedProcess & { tail: () => string })[] = [
      ...(ours.services ?? []),
      { name: 'metrics', pid: metrics.pid, opsUrl: `http://127.0.0.1:${metricsOps}`, tail: metrics.tail },
    ];
    for (const s of services) {
      const url = InspectorSession.urlIn(s.tail());
      if (url === undefined) throw new Error(`${s.name} printed no inspector URL:\n${s.tail()}`);
      sessions.push(await InspectorSession.connect(url));
    }
    const watched: WatchedProcess[] = [
      ...services,
      { name: 'sandbox', pid: base.sandbox.pid },
      ...(base.redisPid === undefined ? [] : [{ name: 'redis', pid: base.redisPid }]),
    ];
    const series: ProcessSeries[] = watched.map(p => ({
      name: p.name,
      service: p.opsUrl !== undefined,
      rssMb: [],
      heapUsedMb: [],
      eventLoopP99Ms: [],
      heapAfterFullGc: [],
    }));
    const report: Omit<SoakReport, 'load' | 'updates' | 'trends' | 'redisUsedMemoryMbPerHour'> = {
      rate,
      durationMs: opts.durationMs,
      warmUpMs,
      workers,
      chats,
      sampleAtS: [],
      loadAverage: [],
      redisUsedMemoryMb: [],
      redisPersisting: [],
      processes: series,
      snapshotsAtS: [],
      fullGcsAtS: [],
      snapshots: [],
      plotFile: opts.plotFile ?? null,
    };
    const forwarded = new CallCounter('cursor-runner', 'iterate-async', expected, false);
    const replied = new CallCounter('telegram', 'sendMessage', expected, true);

    const startedAt = Date.now();
    let loadDone = false;
    let sampling = true;
    const sampler = (async () => {
      for (let k = 0; sampling; k++) {
        const due = startedAt + k * intervalMs;
        if (due > Date.now()) await sleep(due - Date.now());
        const at = (Date.now() - startedAt) / 1000;
        const [readings, info, persistence] = await Promise.all([
          readProcesses(watched),
          redisInfo.info('memory').catch(() => ''),
          redisInfo.info('persistence').catch(() => ''),
        ]);
        report.redisPersisting.push(/^(aof_rewrite|rdb_bgsave)_in_progress:1/m.test(persistence));
        report.sampleAtS.push(Math.round(at * 10) / 10);
        report.loadAverage.push(loadavg()[0]!);
        const used = /^used_memory:(\d+)/m.exec(info)?.[1];
        report.redisUsedMemoryMb.push(used === undefined ? null : Number(used) / 1024 / 1024);
        readings.forEach((r, i) => {
          series[i]!.rssMb.push(r.rssMb);
          series[i]!.heapUsedMb.push(r.heapUsedMb);
          series[i]!.eventLoopP99Ms.push(r.eventLoopP99Ms);
        });
        if (k > 0 && k % 60 === 0) {
          const line = readings.map((r, i) => `${series[i]!.name} ${r.rssMb?.toFixed(0) ?? '?'}`).join(', ');
          log(`  ${Math.round(at)} s: RSS MB ${line}; load ${loadavg()[0]!.toFixed(2)}`);
        }
      }
    })();
    let polling = true;
    const poller = (async () => {
      while (polling) {
        await forwarded.poll(base.sandboxUrl);
        await replied.poll(base.sandboxUrl);
        await sleep(loadDone ? 250 : 2000);
      }
    })();
    const gcEveryMs = opts.fullGcIntervalMs ?? Math.min(60_000, Math.max(5000, opts.durationMs / 30));
    const fullGcs = (async () => {
      for (let k = 1; !loadDone; k++) {
        await sleep(Math.max(0, startedAt + k * gcEveryMs - Date.now()));
        if (loadDone) break;
        const atS = (Date.now() - startedAt) / 1000;
        report.fullGcsAtS.push(atS);
        for (const [i, session] of sessions.entries()) {
          const mb = await session.heapAfterFullGcMb().catch(() => null);
          if (mb !== null) series[i]!.heapAfterFullGc.push({ atS, mb });
        }
      }
    })();
    const snapshotsDone = (async () => {
      if (snapshotDir === undefined) return;
      for (const atMs of [warmUpMs, Math.round(opts.durationMs * 0.95)]) {
        await sleep(Math.max(0, startedAt + atMs - Date.now()));
        report.snapshotsAtS.push((Date.now() - startedAt) / 1000);
        await takeSnapshots(snapshotDir, services, log);
      }
    })();

    log(
      `load: ${rate} updates/s for ${Math.round(opts.durationMs / 1000)} s from ${chats} chats, warm-up ${Math.round(warmUpMs / 1000)} s`,
    );
    const result = await generator.run({
      mode: 'open',
      rate,
      durationMs: opts.durationMs,
      origin: ours.url,
      headers: BENCH_SECRET_HEADER,
      firstUpdateId: 300_000_000,
      chats,
      promptSuffix: ' [[delay:0]]',
      recordFailures: true,
    });
    loadDone = true;
    await snapshotsDone;
    await fullGcs;
    log(`  load done: ${result.ok}/${result.sent} answered 200; draining`);
    const drained = await waitFor(
      () =>
        forwarded.tally(result.sent).served >= result.ok && replied.tally(result.sent).served >= result.ok,
      { timeoutMs: opts.drainTimeoutMs ?? 60_000, intervalMs: 250 },
    ).then(
      () => true,
      () => false,
    );
    // Still queued in Redis when the drain ended (the gateway's backlog gauge): a backlog, not a loss.
    const backlog = drained ? 0 : await queuedUpdates(services[0]!.opsUrl!);
    // One more poll a moment later: duplicates that arrive after the last reply still count.
    await sleep(Math.min(2000, Math.max(250, opts.durationMs / 20)));
    polling = false;
    await poller;
    await forwarded.poll(base.sandboxUrl);
    await replied.poll(base.sandboxUrl);
    sampling = false;
    await sampler;
    await opts.beforeStop?.(services);

    const fwd = forwarded.tally(result.sent);
    const rep = replied.tally(result.sent);
    const notAccepted = new Set(result.failedIndices);
    let lost = 0;
    for (let i = 0; i < result.sent; i++) {
      if (!notAccepted.has(i) && (forwarded.counts[i] === 0 || replied.counts[i] === 0)) lost++;
    }
    if (snapshotDir !== undefined) {
      for (const s of services) {
        const files = (await snapshotsOf(snapshotDir, s.pid)).sort();
        const named = [];
        for (const [n, file] of files.entries()) {
          const to = `${s.name}-${n === 0 ? 'warm' : 'end'}-${s.pid}.heapsnapshot`;
          await rename(`${snapshotDir}/${file}`, `${snapshotDir}/${to}`);
          named.push(`${snapshotDir}/${to}`);
        }
        report.snapshots.push({ process: s.name, files: named });
      }
    }
    const { timeline: _timeline, failedIndices: _failed, ...load } = result;
    const full: SoakReport = {
      ...report,
      load,
      updates: {
        sent: result.sent,
        accepted: result.ok,
        forwarded: fwd.served,
        replied: rep.served,
        lost,
        drained,
        queuedAtEnd: backlog,
        duplicated: fwd.extra + rep.extra,
      },
      trends: series.map(s => trendOf(s, report, warmUpMs / 1000)),
      redisUsedMemoryMbPerHour: slopePerHour(report.sampleAtS, report.redisUsedMemoryMb, warmUpMs / 1000, []),
    };
    if (opts.plotFile !== undefined) {
      await mkdir(dirname(opts.plotFile), { recursive: true });
      await writeFile(opts.plotFile, soakPlot(full));
    }
    return full;
  } finally {
    for (const session of sessions) session.close();
    await generator.close();
    await metrics?.stop();
    await stopOurs?.();
    await closeConnection(redisInfo);
    await base.sandbox.stop();
    await base.redis.close();
  }
}

/** Updates waiting to run, from the gateway's `gateway_backlog` gauge (what MAX_BACKLOG applies to). */
async function queuedUpdates(gatewayOps: string): Promise<number> {
  const res = await request(`${gatewayOps}/metrics`);
  const samples = parsePrometheusText(await res.body.text());
  return samples
    .filter(s => s.name === 'telegram_receiver_gateway_backlog')
    .reduce((sum, s) => sum + s.value, 0);
}

/** Windows whose samples a heap snapshot or a forced collection disturbed: [from, to) in seconds. */
type Disturbances = [number, number][];

function disturbances(r: Pick<SoakReport, 'snapshotsAtS' | 'fullGcsAtS'>): Disturbances {
  return [
    ...r.snapshotsAtS.map((s): [number, number] => [s, s + AFTER_SNAPSHOT_S]),
    ...r.fullGcsAtS.map((s): [number, number] => [s, s + AFTER_FULL_GC_S]),
  ];
}

/** The samples taken while Redis persisted in the background, and the 2 s after each. */
function redisSaves(r: Pick<SoakReport, 'sampleAtS' | 'redisPersisting'>): Disturbances {
  return r.sampleAtS
    .filter((_, i) => r.redisPersisting[i])
    .map((s): [number, number] => [s, s + AFTER_FULL_GC_S + 1]);
}

/** Samples after the warm-up, without the disturbed ones. */
function steady(atS: number[], fromS: number, disturbed: Disturbances): boolean[] {
  return atS.map(t => t >= fromS && !disturbed.some(([a, b]) => t >= a && t < b));
}

function slopePerHour(
  atS: number[],
  ys: (number | null)[],
  fromS: number,
  disturbed: Disturbances,
): number | null {
  const keep = steady(atS, fromS, disturbed);
  const fit = leastSquares(atS.map((x, i) => ({ x, y: keep[i] ? (ys[i] ?? null) : null })));
  return fit === null ? null : fit.slope * HOUR_S;
}

function trendOf(
  s: ProcessSeries,
  r: Pick<SoakReport, 'sampleAtS' | 'snapshotsAtS' | 'fullGcsAtS' | 'redisPersisting'>,
  fromS: number,
): ProcessTrend {
  const atS = r.sampleAtS;
  const disturbed = disturbances(r);
  const keep = steady(atS, fromS, disturbed);
  const after = <T>(values: T[]) => values.filter((_, i) => keep[i]);
  const floors = s.heapAfterFullGc.filter(p => p.atS >= fromS);
  const floor = leastSquares(floors.map(p => ({ x: p.atS, y: p.mb })));
  return {
    name: s.name,
    rssMbPerHour: slopePerHour(atS, s.rssMb, fromS, disturbed),
    heapMbPerHour: s.service ? slopePerHour(atS, s.heapUsedMb, fromS, disturbed) : null,
    heapFloorMbPerHour: floor === null ? null : floor.slope * HOUR_S,
    eventLoopP99MsPerHour: s.service ? slopePerHour(atS, s.eventLoopP99Ms, fromS, disturbed) : null,
    eventLoopP99MsPerHourOutsideRedisSaves: s.service
      ? slopePerHour(atS, s.eventLoopP99Ms, fromS, [...disturbed, ...redisSaves(r)])
      : null,
    rssMb: {
      first: after(s.rssMb).find(v => v !== null) ?? null,
      last: after(s.rssMb).findLast(v => v !== null) ?? null,
      max: max(after(s.rssMb)),
    },
    heapUsedMb: { median: median(after(s.heapUsedMb)), max: max(after(s.heapUsedMb)) },
    heapAfterFullGcMb: { first: floors[0]?.mb ?? null, last: floors.at(-1)?.mb ?? null },
    eventLoopP99Ms: { median: median(after(s.eventLoopP99Ms)), max: max(after(s.eventLoopP99Ms)) },
  };
}

/** RSS, heap used and event-loop p99 of every process over the run (heap/ELD: services only). */
function soakPlot(r: SoakReport): Buffer {
  const minutes = r.sampleAtS.map(t => t / 60);
  const lines = (pick: (p: ProcessSeries) => (number | null)[], only: (p: ProcessSeries) => boolean) =>
    r.processes.filter(only).map(p => ({
      name: p.name,
      points: minutes.map((x, i) => ({ x, y: pick(p)[i] ?? NaN })),
    }));
  return linePlotPng(
    [
      {
        title: 'RSS (MB)',
        series: lines(
          p => p.rssMb,
          () => true,
        ),
      },
      {
        title: 'Heap used (MB)',
        series: lines(
          p => p.heapUsedMb,
          p => p.service,
        ),
      },
      {
        title: 'Heap in use after a forced full GC (MB)',
        series: r.processes
          .filter(p => p.service)
          .map(p => ({ name: p.name, points: p.heapAfterFullGc.map(g => ({ x: g.atS / 60, y: g.mb })) })),
      },
      {
        title: 'Event-loop delay p99 per second (ms)',
        series: lines(
          p => p.eventLoopP99Ms,
          p => p.service,
        ),
      },
    ],
    { xLabel: `minutes at ${r.rate} updates/s (dashed: end of warm-up)`, markerX: r.warmUpMs / 60_000 },
  );
}

/** Issue 11: heap slope within noise after the warm-up. */
const HEAP_MB_PER_HOUR = 2;

/** The soak as Markdown: per process, the levels and slopes after the warm-up; the updates' fate. */
export function soakMarkdown(r: SoakReport): string {
  const f = (n: number | null, d = 1) => (n === null ? '—' : n.toFixed(d));
  const sign = (n: number | null, d = 2) => (n === null ? '—' : `${n >= 0 ? '+' : ''}${n.toFixed(d)}`);
  const load = r.loadAverage.length ? r.loadAverage.reduce((a, b) => a + b, 0) / r.loadAverage.length : null;
  const lines = [
    `Soak: ${r.rate} updates/s (open loop, ${r.chats.toLocaleString('en-US')} chats, every prompt answered by a cursor-runner callback and a reply) for ${(r.durationMs / 60_000).toFixed(1)} min, ${r.workers} worker(s); slopes after the ${(r.warmUpMs / 60_000).toFixed(1)}-min warm-up. Machine load average ${f(load, 2)} (mean of the samples; max ${f(max(r.loadAverage), 2)}).`,
    '',
    '| process | RSS MB after warm-up → end (max) | RSS MB/h | heap used MB median (max) | heap used MB/h (every sample) | heap after full GC MB, first → last | heap after full GC MB/h | event-loop p99 ms median (max) | event-loop p99 ms/h |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const t of r.trends) {
    lines.push(
      `| ${t.name} | ${f(t.rssMb.first)} → ${f(t.rssMb.last)} (${f(t.rssMb.max)}) | ${sign(t.rssMbPerHour)} | ` +
        `${f(t.heapUsedMb.median)} (${f(t.heapUsedMb.max)}) | ${sign(t.heapMbPerHour)} | ` +
        `${f(t.heapAfterFullGcMb.first, 2)} → ${f(t.heapAfterFullGcMb.last, 2)} | ${sign(t.heapFloorMbPerHour)} | ` +
        `${f(t.eventLoopP99Ms.median, 2)} (${f(t.eventLoopP99Ms.max, 1)}) | ${sign(t.eventLoopP99MsPerHour)} |`,
    );
  }
  const u = r.updates;
  const okPct = u.sent === 0 ? 0 : (100 * r.load.ok) / u.sent;
  lines.push(
    '',
    `Updates: ${u.sent.toLocaleString('en-US')} sent (${okPct.toFixed(okPct === 100 ? 0 : 3)} % answered 200, latency p99 ${f(r.load.latency.p99)} ms, errors ${JSON.stringify(r.load.errors)}), ` +
      `${u.forwarded.toLocaleString('en-US')} reached cursor-runner, ${u.replied.toLocaleString('en-US')} got their reply; ` +
      (u.drained
        ? `**lost ${u.lost}** (accepted but never forwarded or answered; updates not accepted are Telegram's to send again), `
        : `**not drained**: ${u.lost.toLocaleString('en-US')} accepted updates unanswered when the drain ended, ${u.queuedAtEnd.toLocaleString('en-US')} jobs still queued in Redis (the stack fell behind; a backlog, not a loss), `) +
      `**duplicated ${u.duplicated}**. ` +
      `Redis used_memory ${sign(r.redisUsedMemoryMbPerHour)} MB/h.`,
  );
  const saving = r.redisPersisting.filter(Boolean).length;
  lines.push(
    '',
    `Redis persisted in the background (AOF rewrite or RDB save) during ${saving} of ${r.redisPersisting.length} samples. ` +
      `Event-loop p99 slope without those samples (and the 2 s after each): ` +
      r.trends
        .filter(t => t.eventLoopP99MsPerHourOutsideRedisSaves !== null)
        .map(t => `${t.name} ${sign(t.eventLoopP99MsPerHourOutsideRedisSaves)} ms/h`)
        .join(', ') +
      '.',
  );
  const heap = r.trends.filter(t => t.heapFloorMbPerHour !== null);
  const flat = heap.every(t => Math.abs(t.heapFloorMbPerHour!) <= HEAP_MB_PER_HOUR);
  const eld = r.trends
    .filter(t => t.eventLoopP99MsPerHour !== null)
    .every(
      t =>
        t.eventLoopP99MsPerHour! <= 0 ||
        (t.eventLoopP99Ms.median !== null &&
          (t.eventLoopP99MsPerHour! * (r.durationMs - r.warmUpMs)) / 3_600_000 <
            0.1 * t.eventLoopP99Ms.median),
    );
  lines.push(
    '',
    `| must show | met |`,
    '| --- | --- |',
    `| heap after a full GC of every service: slope within ±${HEAP_MB_PER_HOUR} MB/h | ${flat ? 'yes' : '**no**'} |`,
    `| no growth in event-loop p99 (slope ≤ 0, or its rise over the run < 10 % of the median) | ${eld ? 'yes' : '**no**'} |`,
    `| 0 lost, 0 duplicated | ${u.lost === 0 && u.duplicated === 0 ? 'yes' : u.drained ? '**no**' : '**no** (not drained: a backlog)'} |`,
  );
  if (r.snapshots.length > 0) {
    lines.push(
      '',
      `Heap snapshots (at ${r.snapshotsAtS.map(s => `${Math.round(s)} s`).join(' and ')}): ${r.snapshots.flatMap(s => s.files).join(', ')}`,
    );
  }
  if (r.plotFile !== null) lines.push('', `Plot: ${r.plotFile}`);
  return lines.join('\n');
}
