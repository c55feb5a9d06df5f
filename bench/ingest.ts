import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  closeConnection,
  closeQueues,
  createQueues,
  createWorkerConnection,
  parkedCountKey,
} from '@telegram-receiver/core';
import { freePort, randomName, RedisServer } from '@telegram-receiver/testing';
import { BENCH_BOT_TOKEN, BENCH_SECRET_HEADER, BENCH_WEBHOOK_SECRET } from './lib/fake-credentials.ts';
import type { LoadResult, PhasePlan } from './lib/load.ts';
import { cpuSeconds, machineCpuSeconds } from './lib/proc-cpu.ts';
import { perUpdate, redisCommandStats, type CommandStat } from './lib/redis-command-stats.ts';
import { LoadGeneratorProcess } from './lib/run-load.ts';
import { startOtlpSink } from './lib/otlp-sink.ts';
import { startServer } from './lib/server-process.ts';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const GATEWAY_MAIN = here('../services/gateway/src/main.ts');

/** The seed system's published ingest numbers on this machine (brief; seed-contract §1.3, §4). */
export const SEED_NUMBERS = { ackPath: 7000, messagePath: 1100 } as const;

/** Options of {@link runIngest}. */
export interface IngestOptions {
  /** 2–3 s phases instead of 10 s: a smoke run while developing. @defaultValue false */
  quick?: boolean;
  /** Targets to run, by name. @defaultValue all of {@link TARGET_NAMES} */
  targets?: TargetName[];
  /** Fixed arrival rates, req/s. @defaultValue [1000, 2000] */
  rates?: number[];
  /**
   * Saturation rounds per target, interleaved across targets; the ratios use the median, which
   * resists bursts of other work on a shared machine. @defaultValue 3 (1 when `quick`)
   */
  rounds?: number;
  /** Connections of the saturation phase. @defaultValue 64 */
  concurrency?: number;
  /** Phase lengths in ms, overriding `quick` (tests use very short ones). */
  phaseMs?: { warmUp: number; saturation: number; open: number };
  /** Progress lines (not results). */
  log?: (line: string) => void;
}

export const TARGET_NAMES = [
  'raw-http',
  'grammy-koa',
  'gateway',
  'gateway-traced-0.1',
  'gateway-traced-1.0',
] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

const TARGET_LABELS: Record<TargetName, string> = {
  'raw-http': 'raw node:http (200 OK after reading the body)',
  'grammy-koa': 'grammY webhookCallback on Koa (no-op handler, nothing stored)',
  gateway: 'our gateway (durable in Redis before 200; AOF everysec)',
  'gateway-traced-0.1': 'our gateway with tracing, 10 % of updates sampled, exported over OTLP',
  'gateway-traced-1.0': 'our gateway with tracing, every update sampled, exported over OTLP',
};

/** One measured phase of one target. */
export interface PhaseRow {
  target: TargetName;
  phase: string;
  result: LoadResult;
  /** CPU seconds used during the phase by the server process and by Redis (gateway only). */
  serverCpuSeconds: number | null;
  redisCpuSeconds: number | null;
  /** CPU other processes of the machine used during the phase, in cores (1 = one core busy). */
  otherCpuShare: number | null;
}

/** Durability check after the gateway run: every 200 must be a job in Redis. */
export interface DurabilityCheck {
  answered200: number;
  jobs: number;
  counts: Record<string, number>;
  ok: boolean;
}

export interface IngestReport {
  quick: boolean;
  rows: PhaseRow[];
  skipped: { target: TargetName; reason: string }[];
  durability: DurabilityCheck | null;
  redisConfig: Record<string, string> | null;
  /** INFO commandstats of the gateway's Redis after its last phase (all phases, warm-up included). */
  redisCommands: CommandStat[] | null;
}

interface RunningTarget {
  origin: string;
  serverPid: number;
  redisPid?: number;
  redisConfig?: Record<string, string>;
  verify?: (answered200: number) => Promise<{ check: DurabilityCheck; commands: CommandStat[] }>;
  stop(): Promise<void>;
}

async function startAnchor(entry: string): Promise<RunningTarget> {
  const port = await freePort();
  const server = await startServer({
    entry,
    port,
    env: {
      PORT: String(port),
      NODE_ENV: 'production',
      BOT_TOKEN: BENCH_BOT_TOKEN,
      WEBHOOK_SECRET: BENCH_WEBHOOK_SECRET,
    },
  });
  return { origin: `http://127.0.0.1:${port}`, serverPid: server.pid, stop: () => server.stop() };
}

/**
 * The gateway as in production; with `sampling`, loaded with the tracing bootstrap and exporting to
 * an OTLP sink, sampling that share of the updates (OTEL_TRACES_SAMPLER=traceidratio).
 */
async function startGateway(sampling?: number): Promise<RunningTarget> {
  // Production persistence: AOF on, fsync once a second (Redis' recommended trade-off).
  const redis = await RedisServer.start({ appendOnly: true, appendFsync: 'everysec' });
  const sink = sampling === undefined ? undefined : await startOtlpSink();
  const conn = createWorkerConnection({ url: redis.url, name: 'bench-verify' });
  try {
    const prefix = randomName('bench');
    const [port, opsPort, adminPort] = [await freePort(), await freePort(), await freePort()];
    const server = await startServer({
      entry: GATEWAY_MAIN,
      port,
      env: {
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        PORT: String(port),
        OPS_PORT: String(opsPort),
        ADMIN_HOST: '127.0.0.1',
        ADMIN_PORT: String(adminPort),
        REDIS_URL: redis.url,
        QUEUE_PREFIX: prefix,
        TELEGRAM_BOT_TOKEN: BENCH_BOT_TOKEN,
        TELEGRAM_WEBHOOK_SECRET: BENCH_WEBHOOK_SECRET,
        LOG_LEVEL: 'warn',
        // The bench measures ingest, with no worker draining: never shed load for backlog.
        MAX_BACKLOG: '1000000000',
        ...(sink === undefined
          ? {}
          : {
              OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
              OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
              OTEL_TRACES_SAMPLER_ARG: String(sampling),
              OTEL_SERVICE_NAME: 'telegram-receiver-gateway',
            }),
      },
      nodeArgs: [
        ...(sink === undefined ? [] : ['--import', '@telegram-receiver/core/register']),
        // BENCH_CPU_PROF=<dir>: a V8 CPU profile of each gateway, written when it stops.
        ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
      ],
    });
    const info = await conn.info('server');
    const redisPid = Number(/process_id:(\d+)/.exec(info)?.[1]) || undefined;
    const config = (await conn.config('GET', 'append*')) as string[];
    const redisConfig: Record<string, string> = {};
    for (let i = 0; i + 1 < config.length; i += 2) redisConfig[config[i]!] = config[i + 1]!;
    return {
      origin: `http://127.0.0.1:${port}`,
      serverPid: server.pid,
      redisPid,
      redisConfig,
      async verify(answered200) {
        const commands = await redisCommandStats(conn);
        const queues = createQueues(conn, prefix);
        try {
          // Lanes park a chat's later updates outside BullMQ's lists (no worker runs here): count them too.
          const counts = {
            ...(await queues.updates.getJobCounts()),
            parked: Number((await conn.get(parkedCountKey(prefix, 'updates'))) ?? 0),
          };
          const jobs = Object.values(counts).reduce((a, b) => a + b, 0);
          return { check: { answered200, jobs, counts, ok: jobs === answered200 }, commands };
        } finally {
          await closeQueues(queues);
        }
      },
      async stop() {
        await server.stop();
        await closeConnection(conn);
        await redis.close();
        await sink?.close();
      },
    };
  } catch (err) {
    await closeConnection(conn);
    await redis.close();
    await sink?.close();
    throw err;
  }
}

const STARTERS: Record<TargetName, () => Promise<RunningTarget>> = {
  'raw-http': () => startAnchor(here('./targets/raw-http.ts')),
  'grammy-koa': () => startAnchor(here('./targets/grammy-koa.ts')),
  gateway: () => startGateway(),
  'gateway-traced-0.1': () => startGateway(0.1),
  'gateway-traced-1.0': () => startGateway(1),
};

function plan(opts: IngestOptions): PhasePlan {
  const s =
    opts.phaseMs ??
    (opts.quick
      ? { warmUp: 1000, saturation: 3000, open: 2000 }
      : { warmUp: 3000, saturation: 10_000, open: 10_000 });
  const concurrency = opts.concurrency ?? 64;
  const rounds = opts.rounds ?? (opts.quick ? 1 : 3);
  return [
    { phase: 'warm-up', load: { mode: 'saturate', concurrency: 16, durationMs: s.warmUp } },
    ...Array.from({ length: rounds }, (_, r) => ({
      phase: rounds === 1 ? 'saturation' : `saturation ${r + 1}/${rounds}`,
      load: { mode: 'saturate' as const, concurrency, durationMs: s.saturation },
    })),
    ...(opts.rates ?? [1000, 2000]).map(rate => ({
      phase: `open ${rate}/s`,
      load: { mode: 'open' as const, rate, durationMs: s.open },
    })),
  ];
}

/**
 * The ingest benchmark: each target in its own process, the load generator in another; per target
 * a warm-up, a closed-loop saturation phase and open-loop phases at fixed arrival rates.
 */
export async function runIngest(opts: IngestOptions = {}): Promise<IngestReport> {
  const log = opts.log ?? (() => undefined);
  const report: IngestReport = {
    quick: opts.quick ?? false,
    rows: [],
    skipped: [],
    durability: null,
    redisConfig: null,
    redisCommands: null,
  };
  const names = opts.targets ?? TARGET_NAMES;
  const running: { name: TargetName; target: RunningTarget; answered200: number }[] = [];
  const generator = LoadGeneratorProcess.start();
  try {
    for (const name of names) {
      if (name.startsWith('gateway') && !existsSync(GATEWAY_MAIN)) {
        report.skipped.push({ target: name, reason: 'services/gateway/src/main.ts does not exist yet' });
        log(`skip ${name}: no ${GATEWAY_MAIN}`);
        continue;
      }
      log(`start ${TARGET_LABELS[name]}`);
      running.push({ name, target: await STARTERS[name](), answered200: 0 });
    }
    // Phases are interleaved across targets (all servers stay up; an idle one costs nothing), so
    // a change in the machine's background load hits every target alike and the ratios hold.
    // update_ids are distinct across phases too, so the gateway's dedup never answers from memory.
    let firstUpdateId = 100_000_000;
    for (const { phase, load } of plan(opts)) {
      for (const run of running) {
        const { target } = run;
        const sample = async () => ({
          server: await cpuSeconds(target.serverPid),
          redis: await cpuSeconds(target.redisPid),
          machine: await machineCpuSeconds(),
          at: performance.now(),
        });
        const before = await sample();
        const result = await generator.run({
          ...load,
          origin: target.origin,
          headers: BENCH_SECRET_HEADER,
          firstUpdateId,
        });
        const after = await sample();
        firstUpdateId += 50_000_000;
        run.answered200 += result.ok;
        const diff = (k: 'server' | 'redis' | 'machine') => {
          const a = before[k];
          const b = after[k];
          return a === null || b === null ? null : b - a;
        };
        const [server, redis, machine] = [diff('server'), diff('redis'), diff('machine')];
        const ours = (server ?? 0) + (redis ?? 0) + result.generatorCpuSeconds;
        report.rows.push({
          target: run.name,
          phase,
          result,
          serverCpuSeconds: server,
          redisCpuSeconds: redis,
          otherCpuShare:
            machine === null ? null : Math.max(0, machine - ours) / ((after.at - before.at) / 1000),
        });
        log(
          `  ${run.name} ${phase}: ${Math.round(result.achievedRate)} req/s, ok ${result.ok}/${result.sent}, ` +
            `p99 ${result.latency.p99.toFixed(2)} ms${Object.keys(result.errors).length ? `, errors ${JSON.stringify(result.errors)}` : ''}`,
        );
        // Let the server finish background work (GC, AOF flush) before the next phase.
        await sleep(opts.quick || opts.phaseMs ? 300 : 1000);
      }
    }
    for (const run of running) {
      // The durability figure is the untraced gateway's (the traced ones store the same way).
      if (!run.target.verify || run.name !== 'gateway') continue;
      const { check, commands } = await run.target.verify(run.answered200);
      report.durability = check;
      report.redisCommands = commands;
      report.redisConfig = run.target.redisConfig ?? null;
      log(`  durability: ${check.jobs} jobs for ${run.answered200} answers 200`);
      log(`  redis: ${perUpdate(commands, run.answered200)}`);
    }
  } finally {
    await generator.close();
    for (const run of running) await run.target.stop();
  }
  // Group the rows by target for the table (stable: phases stay in order).
  report.rows.sort((a, b) => names.indexOf(a.target) - names.indexOf(b.target));
  return report;
}
