import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { closeConnection, createWorkerConnection } from '@telegram-receiver/core';
import { freePort, randomName, RedisServer, waitFor } from '@telegram-receiver/testing';
import { request } from 'undici';
import { LatencyRecorder, type LatencySummary } from './lib/latency-recorder.ts';
import { BENCH_BOT_TOKEN, BENCH_SECRET_HEADER, BENCH_WEBHOOK_SECRET } from './lib/fake-credentials.ts';
import type { LoadResult, PhasePlan } from './lib/load.ts';
import { cpuSeconds, machineCpuSeconds } from './lib/proc-cpu.ts';
import { perUpdate, redisCommandStats, type CommandStat } from './lib/redis-command-stats.ts';
import { LoadGeneratorProcess } from './lib/run-load.ts';
import { startServer, type ServerProcess } from './lib/server-process.ts';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const E2E_ENTRIES = {
  sandbox: here('../packages/sandbox/src/main.ts'),
  gateway: here('../services/gateway/src/main.ts'),
  worker: here('../services/worker/src/main.ts'),
} as const;

// Fake, like the other bench credentials: everything talks to the sandbox only.
const CALLBACK_SECRET = 'bench-callback-secret-0123456789';

/** Targets of the end-to-end run (brief): ≥ 5 × the seed's 1.1k msg/s, p95 ≤ 50 ms at 1,000/s. */
export const E2E_TARGETS = { updatesPerSecond: 5 * 1100, p95Ms: 50, atRate: 1000 } as const;

/** Options of {@link runE2e}. */
export interface E2eOptions {
  /** Short phases (smoke run). @defaultValue false */
  quick?: boolean;
  /** Fixed arrival rates, updates/s. @defaultValue [1000] */
  rates?: number[];
  /** Connections of the saturation phase. @defaultValue 64 */
  concurrency?: number;
  /** Phase lengths in ms, overriding `quick`. */
  phaseMs?: { warmUp: number; saturation: number; open: number };
  /**
   * How long the cursor-runner stand-in takes before its callback. A real agent takes seconds to
   * minutes; the default keeps callbacks (and the replies they cause) out of the measured window.
   * @defaultValue 600000
   */
  cursorDelayMs?: number;
  /** Longest wait for the last cursor-runner call after sending stops. @defaultValue 120000 */
  drainTimeoutMs?: number;
  log?: (line: string) => void;
}

/** One phase: what the gateway answered, and when each update reached cursor-runner. */
export interface E2eRow {
  phase: string;
  load: LoadResult;
  /** `iterate/async` calls the sandbox recorded for this phase's updates. */
  cursorCalls: number;
  /** Calls for an update that had already been forwarded (must be 0: once). */
  duplicates: number;
  /** Updates answered 200 whose cursor-runner call never came within the drain timeout. */
  missing: number;
  /** Updates per second from the first scheduled send to the last cursor-runner call. */
  updatesPerSecond: number;
  /** Open loop only: scheduled send → cursor-runner call arrival (ms resolution). */
  latency: LatencySummary | null;
  cpuSeconds: { gateway: number | null; worker: number | null; redis: number | null; sandbox: number | null };
  /** CPU other processes of the machine used during the phase, in cores (1 = one core busy). */
  otherCpuShare: number | null;
}

export interface E2eReport {
  quick: boolean;
  rows: E2eRow[];
  cursorDelayMs: number;
  workerUpdatesConcurrency: string;
  /** INFO commandstats after the last phase (all phases, warm-up included). */
  redisCommands: CommandStat[] | null;
}

interface SandboxCall {
  at: number;
  body: { prompt?: unknown };
  status: number;
}

async function cursorCalls(sandboxUrl: string): Promise<SandboxCall[]> {
  const res = await request(`${sandboxUrl}/sandbox/calls?service=cursor-runner&method=iterate-async`);
  if (res.statusCode !== 200) throw new Error(`sandbox /sandbox/calls answered ${res.statusCode}`);
  return ((await res.body.json()) as { calls: SandboxCall[] }).calls;
}

async function clearCalls(sandboxUrl: string): Promise<void> {
  const res = await request(`${sandboxUrl}/sandbox/calls`, { method: 'DELETE' });
  await res.body.dump();
}

/** The request index `i` the load generator wrote at the end of the message text (`… #i`). */
function indexOf(call: SandboxCall): number | undefined {
  const m = typeof call.body.prompt === 'string' ? /#(\d+)$/.exec(call.body.prompt) : null;
  return m ? Number(m[1]) : undefined;
}

interface Stack {
  redisUrl: string;
  gatewayUrl: string;
  sandboxUrl: string;
  pids: { gateway: number; worker: number; sandbox: number; redis?: number };
  stop(): Promise<void>;
}

async function startStack(cursorDelayMs: number): Promise<Stack> {
  const redis = await RedisServer.start({ appendOnly: true, appendFsync: 'everysec' });
  const started: ServerProcess[] = [];
  try {
    const [sandboxPort, gatewayPort, gatewayOps, workerOps] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    const shared = {
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      REDIS_URL: redis.url,
      QUEUE_PREFIX: randomName('bench'),
      TELEGRAM_BOT_TOKEN: BENCH_BOT_TOKEN,
      TELEGRAM_WEBHOOK_SECRET: BENCH_WEBHOOK_SECRET,
      WEBHOOK_SECRET: CALLBACK_SECRET,
      TELEGRAM_API_URL: sandboxUrl,
    };
    const sandbox = await startServer({
      entry: E2E_ENTRIES.sandbox,
      port: sandboxPort,
      env: {
        LOG_LEVEL: 'warn',
        SANDBOX_PORT: String(sandboxPort),
        SANDBOX_HOST: '127.0.0.1',
        SANDBOX_CALLBACK_URL: `${gatewayUrl}/cursor-runner/callback`,
        SANDBOX_CURSOR_DELAY_MS: String(cursorDelayMs),
        WEBHOOK_SECRET: CALLBACK_SECRET,
      },
    });
    started.push(sandbox);
    const gateway = await startServer({
      entry: E2E_ENTRIES.gateway,
      port: gatewayPort,
      env: {
        ...shared,
        HOST: '127.0.0.1',
        PORT: String(gatewayPort),
        OPS_PORT: String(gatewayOps),
        MAX_BACKLOG: '1000000000',
      },
    });
    started.push(gateway);
    const worker = await startServer({
      entry: E2E_ENTRIES.worker,
      port: workerOps,
      env: {
        ...shared,
        OPS_PORT: String(workerOps),
        CURSOR_RUNNER_URL: sandboxUrl,
        TELEGRAM_WEBHOOK_BASE_URL: gatewayUrl,
      },
    });
    started.push(worker);
    const redisPid = await redisProcessId(redis.url);
    return {
      redisUrl: redis.url,
      gatewayUrl,
      sandboxUrl,
      pids: { gateway: gateway.pid, worker: worker.pid, sandbox: sandbox.pid, redis: redisPid },
      async stop() {
        for (const proc of started.reverse()) await proc.stop();
        await redis.close();
      },
    };
  } catch (err) {
    for (const proc of started.reverse()) await proc.stop();
    await redis.close();
    throw err;
  }
}

async function redisProcessId(url: string): Promise<number | undefined> {
  const conn = createWorkerConnection({ url, name: 'bench-info' });
  try {
    return Number(/process_id:(\d+)/.exec(await conn.info('server'))?.[1]) || undefined;
  } finally {
    await closeConnection(conn);
  }
}

/**
 * End to end: gateway + worker + sandbox as processes, updates from many chats posted to the
 * webhook, measured where the worker hands the prompt to cursor-runner (the sandbox records the
 * arrival time of every `iterate/async` call).
 */
export async function runE2e(opts: E2eOptions = {}): Promise<E2eReport> {
  const log = opts.log ?? (() => undefined);
  const s =
    opts.phaseMs ??
    (opts.quick
      ? { warmUp: 1000, saturation: 3000, open: 3000 }
      : { warmUp: 3000, saturation: 10_000, open: 10_000 });
  const cursorDelayMs = opts.cursorDelayMs ?? 600_000;
  const plan: PhasePlan = [
    { phase: 'warm-up', load: { mode: 'open', rate: 200, durationMs: s.warmUp } },
    {
      phase: 'saturation',
      load: { mode: 'saturate', concurrency: opts.concurrency ?? 64, durationMs: s.saturation },
    },
    ...(opts.rates ?? [E2E_TARGETS.atRate]).map(rate => ({
      phase: `open ${rate}/s`,
      load: { mode: 'open' as const, rate, durationMs: s.open },
    })),
  ];
  const report: E2eReport = {
    quick: opts.quick ?? false,
    rows: [],
    cursorDelayMs,
    workerUpdatesConcurrency: 'default (32)',
    redisCommands: null,
  };
  log('start redis (AOF everysec), sandbox, gateway, worker');
  const stack = await startStack(cursorDelayMs);
  const generator = LoadGeneratorProcess.start();
  try {
    let firstUpdateId = 100_000_000;
    for (const { phase, load } of plan) {
      await clearCalls(stack.sandboxUrl);
      const cpu0 = await cpuOf(stack.pids);
      const result = await generator.run({
        ...load,
        origin: stack.gatewayUrl,
        headers: BENCH_SECRET_HEADER,
        firstUpdateId,
      });
      firstUpdateId += 50_000_000;
      // Wait until every update answered 200 reached cursor-runner (or the drain timeout).
      let calls: SandboxCall[] = [];
      await waitFor(
        async () => {
          calls = await cursorCalls(stack.sandboxUrl);
          return calls.length >= result.ok;
        },
        { timeoutMs: opts.drainTimeoutMs ?? 120_000, intervalMs: 250 },
      ).catch(() => undefined);
      const cpu1 = await cpuOf(stack.pids);
      report.rows.push(summarise(phase, result, calls, cpu0, cpu1));
      const row = report.rows.at(-1)!;
      log(
        `  ${phase}: gateway ${Math.round(result.achievedRate)} req/s (ok ${result.ok}/${result.sent}), ` +
          `${Math.round(row.updatesPerSecond)} updates/s to cursor-runner` +
          (row.latency ? `, p95 ${row.latency.p95.toFixed(1)} ms` : '') +
          (row.missing || row.duplicates ? `, missing ${row.missing}, duplicates ${row.duplicates}` : ''),
      );
      await sleep(opts.quick || opts.phaseMs ? 300 : 1000);
    }
    const conn = createWorkerConnection({ url: stack.redisUrl, name: 'bench-stats' });
    try {
      report.redisCommands = await redisCommandStats(conn);
    } finally {
      await closeConnection(conn);
    }
    const updates = report.rows.reduce((sum, r) => sum + r.load.ok, 0);
    log(`  redis: ${perUpdate(report.redisCommands, updates)}`);
  } finally {
    await generator.close();
    await stack.stop();
  }
  return report;
}

async function cpuOf(pids: Stack['pids']) {
  return {
    gateway: await cpuSeconds(pids.gateway),
    worker: await cpuSeconds(pids.worker),
    redis: await cpuSeconds(pids.redis),
    sandbox: await cpuSeconds(pids.sandbox),
    machine: await machineCpuSeconds(),
    at: performance.now(),
  };
}

function summarise(
  phase: string,
  load: LoadResult,
  calls: SandboxCall[],
  cpu0: Awaited<ReturnType<typeof cpuOf>>,
  cpu1: Awaited<ReturnType<typeof cpuOf>>,
): E2eRow {
  const seen = new Set<number>();
  let duplicates = 0;
  let lastAt = 0;
  const latency = new LatencyRecorder();
  const interval = load.rateAsked === null ? null : 1000 / load.rateAsked;
  for (const call of calls) {
    const i = indexOf(call);
    if (i === undefined) continue;
    if (seen.has(i)) {
      duplicates++;
      continue;
    }
    seen.add(i);
    lastAt = Math.max(lastAt, call.at);
    if (interval !== null) latency.record(Math.max(0, call.at - (load.startedAtEpochMs + i * interval)));
  }
  const diff = (k: Exclude<keyof typeof cpu0, 'at'>) => {
    const a = cpu0[k];
    const b = cpu1[k];
    return a === null || b === null ? null : b - a;
  };
  const spanMs = lastAt - load.startedAtEpochMs;
  const cpu = {
    gateway: diff('gateway'),
    worker: diff('worker'),
    redis: diff('redis'),
    sandbox: diff('sandbox'),
  };
  const machine = diff('machine');
  const ours = Object.values(cpu).reduce<number>((sum, v) => sum + (v ?? 0), 0) + load.generatorCpuSeconds;
  return {
    phase,
    load,
    cursorCalls: calls.length,
    duplicates,
    missing: Math.max(0, load.ok - seen.size),
    updatesPerSecond: spanMs > 0 ? (seen.size * 1000) / spanMs : 0,
    latency: interval === null ? null : latency.summary(),
    cpuSeconds: cpu,
    otherCpuShare: machine === null ? null : Math.max(0, machine - ours) / ((cpu1.at - cpu0.at) / 1000),
  };
}

/** The e2e results as Markdown, with the brief's two targets. */
export function e2eMarkdown(report: E2eReport): string {
  const f = (n: number | undefined, d = 1) => (n === undefined ? '—' : n.toFixed(d));
  const cpu = (v: number | null, n: number) =>
    v === null || n === 0 ? '—' : String(Math.round((v * 1e6) / n));
  const lines = [
    '| phase | gateway req/s (ok %) | updates/s to cursor-runner | p50 ms | p95 ms | p99 ms | max ms | missing | duplicates | CPU µs/update gateway | worker | redis | sandbox | other work, cores |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of report.rows) {
    const okPct = r.load.sent === 0 ? 0 : (100 * r.load.ok) / r.load.sent;
    const n = r.load.sent;
    lines.push(
      `| ${r.phase} | ${Math.round(r.load.achievedRate)} (${okPct.toFixed(okPct === 100 ? 0 : 2)}) | ${Math.round(r.updatesPerSecond)} | ` +
        `${f(r.latency?.p50)} | ${f(r.latency?.p95)} | ${f(r.latency?.p99)} | ${f(r.latency?.max)} | ${r.missing} | ${r.duplicates} | ` +
        `${cpu(r.cpuSeconds.gateway, n)} | ${cpu(r.cpuSeconds.worker, n)} | ${cpu(r.cpuSeconds.redis, n)} | ${cpu(r.cpuSeconds.sandbox, n)} | ` +
        `${r.otherCpuShare === null ? '—' : r.otherCpuShare.toFixed(2)} |`,
    );
  }
  const sat = report.rows.find(r => r.phase === 'saturation');
  const at = report.rows.find(r => r.phase === `open ${E2E_TARGETS.atRate}/s`);
  const yes = (b: boolean) => (b ? 'yes' : '**no**');
  const updates = report.rows.reduce((sum, r) => sum + r.load.ok, 0);
  if (report.redisCommands) lines.push('', `Redis: ${perUpdate(report.redisCommands, updates)}.`);
  lines.push('', '| target | value | met |', '| --- | ---: | --- |');
  if (sat) {
    lines.push(
      `| ≥ ${E2E_TARGETS.updatesPerSecond.toLocaleString('en-US')} updates/s webhook → cursor-runner (5 × seed 1.1k) | ${Math.round(sat.updatesPerSecond)} | ${yes(sat.updatesPerSecond >= E2E_TARGETS.updatesPerSecond)} |`,
    );
  }
  if (at?.latency) {
    const complete = at.missing === 0 && at.load.ok === at.load.sent;
    lines.push(
      `| p95 ≤ ${E2E_TARGETS.p95Ms} ms at ${E2E_TARGETS.atRate.toLocaleString('en-US')} updates/s, none missing | ${at.latency.p95.toFixed(1)} ms | ${yes(at.latency.p95 <= E2E_TARGETS.p95Ms && complete)} |`,
    );
  }
  lines.push(
    `| every update reaches cursor-runner exactly once | ${report.rows.every(r => r.missing === 0 && r.duplicates === 0) ? 'all phases' : 'see missing / duplicates'} | ${yes(report.rows.every(r => r.missing === 0 && r.duplicates === 0))} |`,
  );
  return lines.join('\n');
}
