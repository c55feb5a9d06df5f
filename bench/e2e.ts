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
  anchor: here('./targets/bullmq-anchor.ts'),
} as const;

/** The forward phases keep callbacks out of the window: the stand-in acks and never calls back (it holds nothing per call). */
const NO_CALLBACK = ' [[silent]]';

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
  /** Round-trip phases: arrival rate and the sandbox's callback delay (0 = at once). @defaultValue [{rate: 500, callbackDelayMs: 0}, {rate: 200, callbackDelayMs: 2000}] */
  roundTrips?: { rate: number; callbackDelayMs: number }[];
  /** Run the BullMQ anchor (Queue.add behind node:http + a Worker with one HTTP call per job). @defaultValue true */
  anchor?: boolean;
  /**
   * A checkout of an earlier version (e.g. today's main) whose gateway and worker also run a
   * saturation phase in this run, for a same-run comparison. @defaultValue none
   */
  baselineDir?: string | undefined;
  /** Jobs one worker process runs at once, ours (UPDATES_/CALLBACKS_CONCURRENCY) and the anchor's alike. @defaultValue 128 */
  workerConcurrency?: number;
  /** Connections of the saturation phase. @defaultValue 64 */
  concurrency?: number;
  /** Phase lengths in ms, overriding `quick`. */
  phaseMs?: { warmUp: number; saturation: number; open: number };
  /** Longest wait for the last cursor-runner call after sending stops. @defaultValue 120000 */
  drainTimeoutMs?: number;
  log?: (line: string) => void;
}

/** One phase: what the gateway answered, and when each update reached cursor-runner. */
export interface E2eRow {
  phase: string;
  /** `ours` (gateway + worker), `main` (the baseline checkout's) or `anchor` (BullMQ alone: Queue.add + Worker). */
  target: TargetName;
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
  /** Round-trip phases: replies (sendMessage at the sandbox) for this phase's updates, null otherwise. */
  roundTrips: number | null;
  roundTripsPerSecond: number | null;
  /** Open-loop round-trip phases: scheduled send → the reply's arrival at the sandbox's Telegram. */
  roundTrip: LatencySummary | null;
  /** For the anchor, gateway = its node:http producer and worker = its BullMQ Worker process. */
  cpuSeconds: {
    gateway: number | null;
    worker: number | null;
    redis: number | null;
    sandbox: number | null;
    loadGenerator: number | null;
  };
  /** Redis commands of the phase (INFO commandstats delta), most expensive first. */
  redisCommands: CommandStat[];
  /** CPU other processes of the machine used during the phase, in cores (1 = one core busy). */
  otherCpuShare: number | null;
}

export interface E2eReport {
  quick: boolean;
  rows: E2eRow[];
  /** Jobs per worker process at once (ours: per queue), the anchor's Worker alike. */
  workerConcurrency: number;
  /** TELEGRAM_BOT_MESSAGES_PER_SECOND of the bench's worker (the pacer would otherwise cap replies at 30/s). */
  botMessagesPerSecond: number;
  /** INFO commandstats after the last phase (all phases, warm-up included). */
  redisCommands: CommandStat[] | null;
}

const BOT_MESSAGES_PER_SECOND = 1000;

/** A call the sandbox recorded, as far as the benchmarks read it. */
export interface SandboxCall {
  at: number;
  body: { prompt?: unknown; text?: unknown };
  status: number;
}

async function sandboxCalls(sandboxUrl: string, service: string, method: string): Promise<SandboxCall[]> {
  const res = await request(`${sandboxUrl}/sandbox/calls?service=${service}&method=${method}`);
  if (res.statusCode !== 200) throw new Error(`sandbox /sandbox/calls answered ${res.statusCode}`);
  return ((await res.body.json()) as { calls: SandboxCall[] }).calls;
}

const cursorCalls = (sandboxUrl: string) => sandboxCalls(sandboxUrl, 'cursor-runner', 'iterate-async');
const replies = async (sandboxUrl: string) =>
  (await sandboxCalls(sandboxUrl, 'telegram', 'sendMessage')).filter(c => c.status === 200);

async function clearCalls(sandboxUrl: string): Promise<void> {
  const res = await request(`${sandboxUrl}/sandbox/calls`, { method: 'DELETE' });
  await res.body.dump();
}

/** The request index `i` the load generator wrote into the message text (`… #i`), in the prompt or its reply. */
export function indexOf(call: SandboxCall): number | undefined {
  const text = call.body.prompt ?? call.body.text;
  const m = typeof text === 'string' ? /#(\d+)\b/.exec(text) : null;
  return m ? Number(m[1]) : undefined;
}

/** The processes a phase's CPU is read from (for the anchor: producer as gateway, consumer as worker). */
export interface Pids {
  gateway: number;
  worker: number;
  sandbox: number;
  redis?: number | undefined;
}

export interface Base {
  redis: RedisServer;
  sandboxUrl: string;
  sandbox: ServerProcess;
  redisPid: number | undefined;
}

/** The system under test: our gateway + worker, or the BullMQ anchor's producer + consumer. */
export interface Target {
  url: string;
  pids: Pids;
  /** Our services only: each process with its ops listener (/metrics), and the queue prefix they share. */
  services?: { name: string; pid: number; opsUrl: string; tail: () => string }[];
  queuePrefix?: string;
  stop(): Promise<void>;
}

export async function startBase(gatewayPort: number): Promise<Base> {
  const redis = await RedisServer.start({ appendOnly: true, appendFsync: 'everysec' });
  try {
    const sandboxPort = await freePort();
    const sandbox = await startServer({
      entry: E2E_ENTRIES.sandbox,
      port: sandboxPort,
      env: {
        LOG_LEVEL: 'warn',
        SANDBOX_PORT: String(sandboxPort),
        SANDBOX_HOST: '127.0.0.1',
        SANDBOX_CALLBACK_URL: `http://127.0.0.1:${gatewayPort}/cursor-runner/callback`,
        WEBHOOK_SECRET: CALLBACK_SECRET,
      },
    });
    return {
      redis,
      sandbox,
      sandboxUrl: `http://127.0.0.1:${sandboxPort}`,
      redisPid: await redisProcessId(redis.url),
    };
  } catch (err) {
    await redis.close();
    throw err;
  }
}

/** Our gateway and `workers` worker processes (the first worker's pid is the one measured). */
export async function startOurs(
  base: Base,
  gatewayPort: number,
  workers = 1,
  workerConcurrency = 32,
  entries: { gateway: string; worker: string } = E2E_ENTRIES,
  /** Node options of each service process (the soak's production flags and `--heapsnapshot-signal`). */
  nodeArgs: (service: 'gateway' | 'worker') => string[] = () => [],
): Promise<Target> {
  const gatewayOps = await freePort();
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const queuePrefix = `{${randomName('bench')}}`;
  const services: NonNullable<Target['services']> = [];
  const shared = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    REDIS_URL: base.redis.url,
    QUEUE_PREFIX: queuePrefix,
    TELEGRAM_BOT_TOKEN: BENCH_BOT_TOKEN,
    TELEGRAM_WEBHOOK_SECRET: BENCH_WEBHOOK_SECRET,
    WEBHOOK_SECRET: CALLBACK_SECRET,
    TELEGRAM_API_URL: base.sandboxUrl,
  };
  const started: ServerProcess[] = [];
  const stop = async () => {
    for (const proc of started.reverse()) await proc.stop();
  };
  try {
    const gateway = await startServer({
      entry: entries.gateway,
      port: gatewayPort,
      nodeArgs: nodeArgs('gateway'),
      env: {
        ...shared,
        HOST: '127.0.0.1',
        PORT: String(gatewayPort),
        OPS_PORT: String(gatewayOps),
        // A free port, not the default 9201: two runs at once (a soak and a test) must not collide.
        ADMIN_HOST: '127.0.0.1',
        ADMIN_PORT: String(await freePort()),
        MAX_BACKLOG: '1000000000',
      },
    });
    started.push(gateway);
    services.push({
      name: 'gateway',
      pid: gateway.pid,
      opsUrl: `http://127.0.0.1:${gatewayOps}`,
      tail: gateway.tail,
    });
    for (let n = 0; n < workers; n++) {
      const workerOps = await freePort();
      const worker = await startServer({
        entry: entries.worker,
        port: workerOps,
        nodeArgs: nodeArgs('worker'),
        env: {
          ...shared,
          OPS_PORT: String(workerOps),
          CURSOR_RUNNER_URL: base.sandboxUrl,
          TELEGRAM_WEBHOOK_BASE_URL: gatewayUrl,
          TELEGRAM_BOT_MESSAGES_PER_SECOND: String(BOT_MESSAGES_PER_SECOND),
          UPDATES_CONCURRENCY: String(workerConcurrency),
          CALLBACKS_CONCURRENCY: String(workerConcurrency),
        },
      });
      started.push(worker);
      services.push({
        name: workers === 1 ? 'worker' : `worker-${n + 1}`,
        pid: worker.pid,
        opsUrl: `http://127.0.0.1:${workerOps}`,
        tail: worker.tail,
      });
    }
    return {
      url: gatewayUrl,
      services,
      queuePrefix,
      pids: {
        gateway: gateway.pid,
        worker: started[1]!.pid,
        sandbox: base.sandbox.pid,
        redis: base.redisPid,
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function startAnchor(base: Base, workerConcurrency: number): Promise<Target> {
  const [port, ops] = [await freePort(), await freePort()];
  const env = {
    REDIS_URL: base.redis.url,
    QUEUE_PREFIX: `{${randomName('anchor')}}`,
    SANDBOX_URL: base.sandboxUrl,
  };
  const producer = await startServer({
    entry: E2E_ENTRIES.anchor,
    port,
    env: { ...env, ANCHOR_ROLE: 'producer', PORT: String(port) },
  });
  try {
    const consumer = await startServer({
      entry: E2E_ENTRIES.anchor,
      port: ops,
      env: {
        ...env,
        ANCHOR_ROLE: 'consumer',
        OPS_PORT: String(ops),
        ANCHOR_CONCURRENCY: String(workerConcurrency),
      },
    });
    return {
      url: `http://127.0.0.1:${port}`,
      pids: { gateway: producer.pid, worker: consumer.pid, sandbox: base.sandbox.pid, redis: base.redisPid },
      async stop() {
        await consumer.stop();
        await producer.stop();
      },
    };
  } catch (err) {
    await producer.stop();
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

type TargetName = 'ours' | 'main' | 'anchor';

/** A phase of the plan: its load, whether it waits for replies, and which target it runs on. */
type E2ePhase = PhasePlan[number] & { roundTrip: boolean; target: TargetName };

/**
 * End to end: gateway + worker + sandbox as processes, updates from many chats posted to the
 * webhook. The forward path is measured where the worker hands the prompt to cursor-runner (the
 * sandbox records the arrival of every `iterate/async` call); the round trip where the reply
 * reaches the sandbox's Telegram (webhook → worker → cursor-runner → callback → gateway → worker →
 * sendMessage). The anchor phase runs BullMQ alone on the same Redis and sandbox.
 */
export async function runE2e(opts: E2eOptions = {}): Promise<E2eReport> {
  const log = opts.log ?? (() => undefined);
  const s =
    opts.phaseMs ??
    (opts.quick
      ? { warmUp: 1000, saturation: 3000, open: 3000 }
      : { warmUp: 3000, saturation: 10_000, open: 10_000 });
  const concurrency = opts.concurrency ?? 64;
  const workerConcurrency = opts.workerConcurrency ?? 128;
  const forward = (phase: string, load: E2ePhase['load']): E2ePhase => ({
    phase,
    load: { ...load, promptSuffix: NO_CALLBACK },
    roundTrip: false,
    target: 'ours',
  });
  const plan: E2ePhase[] = [
    forward('warm-up', { mode: 'open', rate: 200, durationMs: s.warmUp }),
    forward('saturation', { mode: 'saturate', concurrency, durationMs: s.saturation }),
    ...(opts.rates ?? [E2E_TARGETS.atRate]).map(rate =>
      forward(`open ${rate}/s`, { mode: 'open', rate, durationMs: s.open }),
    ),
    ...(opts.roundTrips ?? DEFAULT_ROUND_TRIPS).map(({ rate, callbackDelayMs }) => ({
      phase: `round trip ${rate}/s, callback after ${callbackDelayMs} ms`,
      load: {
        mode: 'open' as const,
        rate,
        durationMs: s.open,
        promptSuffix: ` [[delay:${callbackDelayMs}]]`,
      },
      roundTrip: true,
      target: 'ours' as const,
    })),
    ...(opts.baselineDir === undefined
      ? []
      : [
          {
            phase: 'saturation (baseline checkout)',
            load: {
              mode: 'saturate' as const,
              concurrency,
              durationMs: s.saturation,
              promptSuffix: NO_CALLBACK,
            },
            roundTrip: false,
            target: 'main' as const,
          },
        ]),
    ...(opts.anchor === false
      ? []
      : [
          {
            phase: 'anchor saturation (BullMQ alone)',
            load: {
              mode: 'saturate' as const,
              concurrency,
              durationMs: s.saturation,
              promptSuffix: NO_CALLBACK,
            },
            roundTrip: false,
            target: 'anchor' as const,
          },
        ]),
  ];
  const report: E2eReport = {
    quick: opts.quick ?? false,
    rows: [],
    workerConcurrency,
    botMessagesPerSecond: BOT_MESSAGES_PER_SECOND,
    redisCommands: null,
  };
  log('start redis (AOF everysec), sandbox, gateway, worker');
  const gatewayPort = await freePort();
  const base = await startBase(gatewayPort);
  const stats = createWorkerConnection({ url: base.redis.url, name: 'bench-stats' });
  let target: Target | undefined;
  let running: TargetName | undefined;
  const generator = LoadGeneratorProcess.start();
  try {
    let firstUpdateId = 100_000_000;
    for (const { phase, load, roundTrip, target: which } of plan) {
      if (running !== which || target === undefined) {
        await target?.stop();
        target = undefined;
        target =
          which === 'anchor'
            ? await startAnchor(base, workerConcurrency)
            : await startOurs(
                base,
                gatewayPort,
                1,
                workerConcurrency,
                which === 'main' ? baselineEntries(opts) : E2E_ENTRIES,
              );
        running = which;
      }
      const t: Target = target;
      await clearCalls(base.sandboxUrl);
      const redis0 = await redisCommandStats(stats);
      const cpu0 = await cpuOf(t.pids, generator.pid);
      const result = await generator.run({
        ...load,
        origin: t.url,
        headers: BENCH_SECRET_HEADER,
        firstUpdateId,
      });
      firstUpdateId += 50_000_000;
      // Wait until every update answered 200 reached cursor-runner (and, for a round trip, its
      // reply reached Telegram), or the drain timeout.
      let calls: SandboxCall[] = [];
      let sent: SandboxCall[] = [];
      await waitFor(
        async () => {
          calls = await cursorCalls(base.sandboxUrl);
          if (roundTrip) sent = await replies(base.sandboxUrl);
          return calls.length >= result.ok && (!roundTrip || sent.length >= result.ok);
        },
        { timeoutMs: opts.drainTimeoutMs ?? 120_000, intervalMs: 250 },
      ).catch(() => undefined);
      const cpu1 = await cpuOf(t.pids, generator.pid);
      const redis1 = await redisCommandStats(stats);
      const row = summarise(phase, which, result, calls, roundTrip ? sent : null, cpu0, cpu1);
      row.redisCommands = commandDelta(redis0, redis1);
      report.rows.push(row);
      log(
        `  ${phase}: ${Math.round(result.achievedRate)} req/s (ok ${result.ok}/${result.sent}), ` +
          `${Math.round(row.updatesPerSecond)} updates/s to cursor-runner` +
          (row.latency ? `, p95 ${row.latency.p95.toFixed(1)} ms` : '') +
          (row.roundTrip ? `, round trip p95 ${row.roundTrip.p95.toFixed(1)} ms` : '') +
          (row.roundTripsPerSecond !== null ? `, ${Math.round(row.roundTripsPerSecond)} round trips/s` : '') +
          (row.missing || row.duplicates ? `, missing ${row.missing}, duplicates ${row.duplicates}` : '') +
          `; ${perUpdate(row.redisCommands, result.ok, 4)}`,
      );
      await sleep(opts.quick || opts.phaseMs ? 300 : 1000);
    }
    report.redisCommands = await redisCommandStats(stats);
  } finally {
    await generator.close();
    await target?.stop();
    await closeConnection(stats);
    await base.sandbox.stop();
    await base.redis.close();
  }
  return report;
}

function baselineEntries(opts: E2eOptions): { gateway: string; worker: string } {
  const dir = opts.baselineDir ?? '';
  return { gateway: `${dir}/services/gateway/src/main.ts`, worker: `${dir}/services/worker/src/main.ts` };
}

const DEFAULT_ROUND_TRIPS = [
  { rate: 500, callbackDelayMs: 0 },
  { rate: 200, callbackDelayMs: 2000 },
];

/** What each command cost between two INFO commandstats samples. */
function commandDelta(before: CommandStat[], after: CommandStat[]): CommandStat[] {
  const old = new Map(before.map(c => [c.command, c]));
  return after
    .map(c => ({
      command: c.command,
      calls: c.calls - (old.get(c.command)?.calls ?? 0),
      usec: c.usec - (old.get(c.command)?.usec ?? 0),
    }))
    .filter(c => c.calls > 0 && c.command !== 'info')
    .sort((a, b) => b.usec - a.usec);
}

async function cpuOf(pids: Pids, generatorPid: number | undefined) {
  return {
    gateway: await cpuSeconds(pids.gateway),
    worker: await cpuSeconds(pids.worker),
    redis: await cpuSeconds(pids.redis),
    sandbox: await cpuSeconds(pids.sandbox),
    loadGenerator: await cpuSeconds(generatorPid),
    machine: await machineCpuSeconds(),
    at: performance.now(),
  };
}

/** Per request index: its first call (duplicates counted), and the latest arrival. */
function byIndex(calls: SandboxCall[]): { first: Map<number, number>; duplicates: number; lastAt: number } {
  const first = new Map<number, number>();
  let duplicates = 0;
  let lastAt = 0;
  for (const call of calls) {
    const i = indexOf(call);
    if (i === undefined) continue;
    if (first.has(i)) {
      duplicates++;
      continue;
    }
    first.set(i, call.at);
    lastAt = Math.max(lastAt, call.at);
  }
  return { first, duplicates, lastAt };
}

function summarise(
  phase: string,
  target: TargetName,
  load: LoadResult,
  calls: SandboxCall[],
  sent: SandboxCall[] | null,
  cpu0: Awaited<ReturnType<typeof cpuOf>>,
  cpu1: Awaited<ReturnType<typeof cpuOf>>,
): E2eRow {
  const interval = load.rateAsked === null ? null : 1000 / load.rateAsked;
  const scheduled = (i: number) => load.startedAtEpochMs + i * (interval ?? 0);
  const fwd = byIndex(calls);
  const latency = new LatencyRecorder();
  if (interval !== null) for (const [i, at] of fwd.first) latency.record(Math.max(0, at - scheduled(i)));
  const back = sent === null ? null : byIndex(sent);
  const roundTrip = new LatencyRecorder();
  if (back && interval !== null) {
    for (const [i, at] of back.first) roundTrip.record(Math.max(0, at - scheduled(i)));
  }
  const diff = (k: Exclude<keyof typeof cpu0, 'at'>) => {
    const a = cpu0[k];
    const b = cpu1[k];
    return a === null || b === null ? null : b - a;
  };
  const spanMs = fwd.lastAt - load.startedAtEpochMs;
  const cpu = {
    gateway: diff('gateway'),
    worker: diff('worker'),
    redis: diff('redis'),
    sandbox: diff('sandbox'),
    loadGenerator: diff('loadGenerator'),
  };
  const machine = diff('machine');
  const ours = Object.values(cpu).reduce<number>((sum, v) => sum + (v ?? 0), 0);
  const backSpan = back ? back.lastAt - load.startedAtEpochMs : 0;
  return {
    phase,
    target,
    load,
    cursorCalls: calls.length,
    duplicates: fwd.duplicates + (back?.duplicates ?? 0),
    missing: Math.max(0, load.ok - fwd.first.size) + (back ? Math.max(0, load.ok - back.first.size) : 0),
    updatesPerSecond: spanMs > 0 ? (fwd.first.size * 1000) / spanMs : 0,
    latency: interval === null ? null : latency.summary(),
    roundTrips: back ? back.first.size : null,
    roundTripsPerSecond: back ? (backSpan > 0 ? (back.first.size * 1000) / backSpan : 0) : null,
    roundTrip: back && interval !== null ? roundTrip.summary() : null,
    cpuSeconds: cpu,
    redisCommands: [],
    otherCpuShare: machine === null ? null : Math.max(0, machine - ours) / ((cpu1.at - cpu0.at) / 1000),
  };
}

/** CPU µs per accepted update of one process in a row ('—' when unknown). */
function cpuPerUpdate(r: E2eRow, k: keyof E2eRow['cpuSeconds']): string {
  const v = r.cpuSeconds[k];
  return v === null || r.load.ok === 0 ? '—' : String(Math.round((v * 1e6) / r.load.ok));
}

/** The e2e results as Markdown: per phase, Redis by command, and the targets. */
export function e2eMarkdown(report: E2eReport): string {
  const f = (n: number | undefined | null, d = 1) => (n === undefined || n === null ? '—' : n.toFixed(d));
  const lines = [
    '| target | phase | req/s (ok %) | updates/s to cursor-runner | forward p50 / p95 / p99 ms | round trips/s | round trip p50 / p95 / p99 ms | missing | duplicates | CPU µs/update gateway | worker | redis | sandbox | load gen | other work, cores |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of report.rows) {
    const okPct = r.load.sent === 0 ? 0 : (100 * r.load.ok) / r.load.sent;
    const lat = (l: LatencySummary | null) => (l ? `${f(l.p50)} / ${f(l.p95)} / ${f(l.p99)}` : '—');
    lines.push(
      `| ${r.target} | ${r.phase} | ${Math.round(r.load.achievedRate)} (${okPct.toFixed(okPct === 100 ? 0 : 2)}) | ${Math.round(r.updatesPerSecond)} | ` +
        `${lat(r.latency)} | ${r.roundTripsPerSecond === null ? '—' : Math.round(r.roundTripsPerSecond)} | ${lat(r.roundTrip)} | ${r.missing} | ${r.duplicates} | ` +
        `${cpuPerUpdate(r, 'gateway')} | ${cpuPerUpdate(r, 'worker')} | ${cpuPerUpdate(r, 'redis')} | ${cpuPerUpdate(r, 'sandbox')} | ${cpuPerUpdate(r, 'loadGenerator')} | ` +
        `${r.otherCpuShare === null ? '—' : r.otherCpuShare.toFixed(2)} |`,
    );
  }
  lines.push('', 'Redis time per accepted update, by command (INFO commandstats delta of each phase):', '');
  for (const r of report.rows) {
    lines.push(`- ${r.target} / ${r.phase}: ${perUpdate(r.redisCommands, r.load.ok)}`);
  }
  const updates = report.rows.reduce((sum, r) => sum + r.load.ok, 0);
  if (report.redisCommands) lines.push('', `Redis: ${perUpdate(report.redisCommands, updates)} (whole run).`);
  const sat = report.rows.find(r => r.target === 'ours' && r.phase === 'saturation');
  const anchor = report.rows.find(r => r.target === 'anchor');
  const at = report.rows.find(r => r.phase === `open ${E2E_TARGETS.atRate}/s`);
  const rt = report.rows.find(r => r.roundTrip !== null && r.phase.endsWith('after 0 ms'));
  const yes = (b: boolean) => (b ? 'yes' : '**no**');
  lines.push('', '| target | value | met |', '| --- | ---: | --- |');
  if (sat && anchor && anchor.updatesPerSecond > 0) {
    const ratio = sat.updatesPerSecond / anchor.updatesPerSecond;
    lines.push(
      `| forward path at saturation ≥ 0.5 × the BullMQ anchor (same run) | ${Math.round(sat.updatesPerSecond)} / ${Math.round(anchor.updatesPerSecond)} = ${ratio.toFixed(2)} × | ${yes(ratio >= 0.5)} |`,
    );
  }
  const main = report.rows.find(r => r.target === 'main');
  if (sat && main && main.updatesPerSecond > 0) {
    const own = (r: E2eRow) =>
      ((r.cpuSeconds.gateway ?? 0) + (r.cpuSeconds.worker ?? 0) + (r.cpuSeconds.redis ?? 0)) /
      Math.max(1, r.load.ok);
    const redisUs = (r: E2eRow) =>
      r.redisCommands.reduce((sum, c) => sum + c.usec, 0) / Math.max(1, r.load.ok);
    const speed = sat.updatesPerSecond / main.updatesPerSecond;
    const cpu = own(sat) / own(main);
    const redis = redisUs(sat) / redisUs(main);
    lines.push(
      `| forward path at saturation ≥ 2 × the baseline checkout (same run) | ${Math.round(sat.updatesPerSecond)} / ${Math.round(main.updatesPerSecond)} = ${speed.toFixed(2)} × | ${yes(speed >= 2)} |`,
      `| CPU µs per forwarded update, gateway + worker + Redis ≤ ½ the baseline's | ${Math.round(own(sat) * 1e6)} / ${Math.round(own(main) * 1e6)} = ${cpu.toFixed(2)} × | ${yes(cpu <= 0.5)} |`,
      `| Redis µs per forwarded update ≤ ⅓ the baseline's | ${Math.round(redisUs(sat))} / ${Math.round(redisUs(main))} = ${redis.toFixed(2)} × | ${yes(redis <= 1 / 3)} |`,
    );
  }
  if (at?.latency) {
    const complete = at.missing === 0 && at.load.ok === at.load.sent;
    lines.push(
      `| forward p95 ≤ ${E2E_TARGETS.p95Ms} ms at ${E2E_TARGETS.atRate.toLocaleString('en-US')} updates/s, none missing | ${at.latency.p95.toFixed(1)} ms | ${yes(at.latency.p95 <= E2E_TARGETS.p95Ms && complete)} |`,
    );
  }
  if (rt?.roundTrip) {
    lines.push(
      `| round trip p95 ≤ 50 ms at ${Math.round(rt.load.rateAsked ?? 0)} round trips/s, sandbox answering at once | ${rt.roundTrip.p95.toFixed(1)} ms at ${Math.round(rt.roundTripsPerSecond ?? 0)}/s | ${yes(rt.roundTrip.p95 <= 50 && rt.missing === 0)} |`,
    );
  }
  const once = report.rows.every(r => r.missing === 0 && r.duplicates === 0);
  lines.push(
    `| every update reaches cursor-runner (and its reply Telegram) exactly once | ${once ? 'all phases' : 'see missing / duplicates'} | ${yes(once)} |`,
  );
  return lines.join('\n');
}
