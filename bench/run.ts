// `make bench` → `node bench/run.ts [benchmark]`. Benchmarks are registered in BENCHMARKS below:
// each one runs, returns a JSON-able report and its Markdown, and gets a results file
// bench/results/<name>-<date>.json. Env: BENCH_QUICK=1 (2–3 s phases), BENCH_TARGETS=raw-http,gateway,
// BENCH_BASELINE_DIR=<checkout> (e2e: that version's gateway + worker measured in the same run),
// BENCH_RATES=1000,2000, BENCH_ROUNDS=3 (saturation rounds), BENCH_CONCURRENCY=64,
// BENCH_CPU_PROF=<dir> (ingest: a V8 CPU profile of each gateway, written there when it stops).
// Soak: SOAK_MINUTES, SOAK_RATE, SOAK_WORKERS, SOAK_SNAPSHOTS (see bench/lib/soak-env.ts).
// redis-footprint: what Redis keeps per update, by key and TTL (docs/operations.md, "Redis requirements").
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { e2eMarkdown, runE2e } from './e2e.ts';
import { idleMarkdown, runIdle } from './idle.ts';
import { runIngest } from './ingest.ts';
import { memoryMarkdown, runMemory } from './memory.ts';
import { redisFootprintMarkdown, runRedisFootprint } from './redis-footprint.ts';
import { ingestOptionsFromEnv } from './lib/bench-env.ts';
import { ingestMarkdown, ingestRatios } from './lib/ingest-report.ts';
import { machineFacts } from './lib/machine.ts';
import { soakOptionsFromEnv } from './lib/soak-env.ts';
import { runSoak, soakMarkdown } from './soak.ts';

/** A benchmark run.ts can run: the extension point for the end-to-end benchmark. */
export interface Benchmark {
  describe: string;
  run(env: BenchEnv): Promise<{ report: unknown; markdown: string }>;
}

export interface BenchEnv {
  /** BENCH_QUICK=1: short phases. */
  quick: boolean;
  log: (line: string) => void;
  env: Record<string, string | undefined>;
}

const BENCHMARKS: Record<string, Benchmark> = {
  memory: {
    describe:
      'RSS per process (built services, idle and at 2,000 updates/s) next to bare Node and BENCH_BASELINE_DIR',
    async run({ log, quick, env }) {
      // BENCH_DROP_NODE_ARGS=--max-semi-space-size,--max-old-space-size: ours without those flags.
      const drop = (env.BENCH_DROP_NODE_ARGS ?? '').split(',').filter(a => a !== '');
      const report = await runMemory({ quick, log, baselineDir: env.BENCH_BASELINE_DIR, dropNodeArgs: drop });
      return { report, markdown: memoryMarkdown(report) };
    },
  },
  ingest: {
    describe: 'webhook ingest: raw node:http, grammY koa, our gateway (+ the seed numbers)',
    async run({ log, env }) {
      const report = await runIngest({ ...ingestOptionsFromEnv(env), log });
      return { report: { ...report, ratios: ingestRatios(report) }, markdown: ingestMarkdown(report) };
    },
  },
  e2e: {
    describe: 'end to end: webhook → gateway → Redis → worker → cursor-runner call (sandbox)',
    async run({ log, env }) {
      // Same settings as ingest; BENCH_TARGETS does not apply, BENCH_RATES defaults to 1000.
      const { quick, rates, concurrency } = ingestOptionsFromEnv({ ...env, BENCH_TARGETS: undefined });
      const report = await runE2e({
        quick,
        log,
        ...(rates ? { rates } : {}),
        ...(concurrency ? { concurrency } : {}),
        // BENCH_BASELINE_DIR=/work/baseline: today's main runs a saturation phase in the same run.
        baselineDir: env.BENCH_BASELINE_DIR,
      });
      return { report, markdown: e2eMarkdown(report) };
    },
  },
  soak: {
    describe: 'the whole stack at a steady open-loop rate: RSS, heap, event-loop p99 per process over time',
    async run({ log, quick, env }) {
      const report = await runSoak({ ...soakOptionsFromEnv(env, quick), log });
      return { report, markdown: soakMarkdown(report) };
    },
  },
  'redis-footprint': {
    describe: 'what Redis keeps per update, by key, and for how long (the sizing of maxmemory)',
    async run({ log, quick }) {
      const report = await runRedisFootprint({ log, updates: quick ? 600 : 3000 });
      return { report, markdown: redisFootprintMarkdown(report) };
    },
  },
  idle: {
    describe: 'Redis commands/s at idle: gateway + 1 worker, then + 3 workers (the cost of quick recovery)',
    async run({ log, quick }) {
      const report = await runIdle({ log, windowMs: quick ? 10_000 : 30_000 });
      return { report, markdown: idleMarkdown(report) };
    },
  },
};

async function main(): Promise<void> {
  const name = process.argv[2] ?? 'ingest';
  const bench = BENCHMARKS[name];
  if (!bench) throw new Error(`unknown benchmark "${name}"; one of: ${Object.keys(BENCHMARKS).join(', ')}`);
  const { quick } = ingestOptionsFromEnv(process.env);
  const repo = fileURLToPath(new URL('..', import.meta.url));
  const machine = await machineFacts(repo);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(`bench ${name}${quick ? ' (quick)' : ''}: ${bench.describe}`);
  log(
    `machine: ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memoryGiB} GiB, node ${machine.node}, ` +
      `redis ${machine.redis}, load ${machine.loadAverage.join(' ')}`,
  );
  const startedAt = new Date();
  const { report, markdown } = await bench.run({ quick, log, env: process.env });
  const stamp = startedAt
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replaceAll(':', '-');
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  await mkdir(dir, { recursive: true });
  const file = `${dir}${name}-${stamp}${quick ? '-quick' : ''}.json`;
  const command = `${quick ? 'BENCH_QUICK=1 ' : ''}node bench/run.ts ${name}`;
  await writeFile(
    file,
    `${JSON.stringify({ benchmark: name, startedAt, command, machine, ...(report as object) }, null, 2)}\n`,
  );
  process.stdout.write(`${markdown}\n\nresults: ${file}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
