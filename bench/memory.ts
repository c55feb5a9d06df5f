import { readFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, randomName } from '@telegram-receiver/testing';
import { request } from 'undici';
import { buildAll, productionNodeArgs, type ServiceName } from '../scripts/build.ts';
import { startBase, type Base } from './e2e.ts';
import { BENCH_BOT_TOKEN, BENCH_SECRET_HEADER, BENCH_WEBHOOK_SECRET } from './lib/fake-credentials.ts';
import type { LoadResult } from './lib/load.ts';
import { LoadGeneratorProcess } from './lib/run-load.ts';
import { startServer, type ServerProcess } from './lib/server-process.ts';

/** Targets of issue 11, MB of resident memory (VmRSS). */
export const MEMORY_TARGETS = {
  gateway: { idle: 80, load: 110 },
  worker: { idle: 100, load: 160 },
  metrics: { idle: 70, load: 70 },
} as const;

const SERVICES: readonly ServiceName[] = ['gateway', 'worker', 'metrics'];

/** The cursor-runner stand-in never calls back: no callback reaches the worker during the run. */
const NO_CALLBACK = ' [[silent]]';
const CALLBACK_SECRET = 'bench-callback-secret-0123456789';

/** Options of {@link runMemory}. */
export interface MemoryOptions {
  /** Short phases. @defaultValue false */
  quick?: boolean;
  /** Webhook arrivals per second of the load phase. @defaultValue 2000 */
  rate?: number;
  /** A checkout of an earlier version (today's main) measured the same way in the same run. */
  baselineDir?: string | undefined;
  /** Production Node options to leave out for ours, by prefix (e.g. `--max-semi-space-size`), to measure what one buys. */
  dropNodeArgs?: readonly string[];
  log?: (line: string) => void;
}

/** One process of one flavour: RSS idle and its highest RSS under load, in MB (10^6 bytes). */
export interface MemoryRow {
  flavour: 'ours' | 'main' | 'node';
  process: ServiceName | 'bare node';
  idleMb: number;
  /** Highest VmRSS while the webhook took `rate`/s and until the worker had forwarded every update. */
  loadMb: number | null;
  /** Heap used (V8) at idle, from the process's own /metrics. */
  idleHeapMb: number | null;
  /** Highest heap used (V8) under load, sampled each second. */
  loadHeapMb: number | null;
}

export interface MemoryReport {
  quick: boolean;
  rate: number;
  /** How each flavour was started. */
  commands: Record<string, string>;
  rows: MemoryRow[];
  /** The load phase of each flavour: what the gateway accepted, and how long the worker took to drain. */
  load: Record<string, { result: LoadResult; forwarded: number; drainMs: number }>;
}

/** VmRSS of a process in MB, from /proc/<pid>/status (what `ps` reports as RSS). */
export async function vmRssMb(pid: number): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kb === undefined ? null : (Number(kb) * 1024) / 1e6;
  } catch {
    return null;
  }
}

async function heapUsedMb(opsUrl: string): Promise<number | null> {
  try {
    const res = await request(`${opsUrl}/metrics`);
    const text = await res.body.text();
    const bytes = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)/m.exec(text)?.[1];
    return bytes === undefined ? null : Number(bytes) / 1e6;
  } catch {
    return null;
  }
}

interface Stack {
  processes: { name: ServiceName; proc: ServerProcess; opsUrl: string }[];
  stop(): Promise<void>;
}

type Flavour = {
  name: 'ours' | 'main';
  entry: (s: ServiceName) => string;
  nodeArgs: (s: ServiceName) => string[];
};

function flavours(baselineDir: string | undefined, drop: readonly string[]): Flavour[] {
  const repo = fileURLToPath(new URL('..', import.meta.url));
  const ours: Flavour = {
    name: 'ours',
    entry: s => `${repo}services/${s}/dist/main.js`,
    nodeArgs: s => productionNodeArgs(s).filter(arg => !drop.some(prefix => arg.startsWith(prefix))),
  };
  if (baselineDir === undefined) return [ours];
  // Today's main as its chart starts it: the .ts sources, its own tracing bootstrap.
  const main: Flavour = {
    name: 'main',
    entry: s => `${baselineDir}/services/${s}/src/main.ts`,
    nodeArgs: () => ['--import', `${baselineDir}/packages/core/src/tracing/register.ts`],
  };
  return [ours, main];
}

async function startStack(base: Base, gatewayPort: number, flavour: Flavour): Promise<Stack> {
  const shared = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    REDIS_URL: base.redis.url,
    QUEUE_PREFIX: `{${randomName('mem')}}`,
    TELEGRAM_BOT_TOKEN: BENCH_BOT_TOKEN,
    TELEGRAM_WEBHOOK_SECRET: BENCH_WEBHOOK_SECRET,
    WEBHOOK_SECRET: CALLBACK_SECRET,
    TELEGRAM_API_URL: base.sandboxUrl,
  };
  const extra: Record<ServiceName, Record<string, string>> = {
    gateway: { HOST: '127.0.0.1', PORT: String(gatewayPort), MAX_BACKLOG: '1000000000' },
    worker: {
      CURSOR_RUNNER_URL: base.sandboxUrl,
      TELEGRAM_WEBHOOK_BASE_URL: `http://127.0.0.1:${gatewayPort}`,
    },
    metrics: {},
  };
  const processes: Stack['processes'] = [];
  const stop = async () => {
    for (const p of processes.reverse()) await p.proc.stop();
  };
  try {
    for (const name of SERVICES) {
      const [opsPort, adminPort] = [await freePort(), await freePort()];
      const proc = await startServer({
        entry: flavour.entry(name),
        nodeArgs: flavour.nodeArgs(name),
        port: name === 'gateway' ? gatewayPort : opsPort,
        env: { ...shared, OPS_PORT: String(opsPort), ADMIN_PORT: String(adminPort), ...extra[name] },
      });
      processes.push({ name, proc, opsUrl: `http://127.0.0.1:${opsPort}` });
    }
    return { processes, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function cursorCalls(sandboxUrl: string): Promise<number> {
  const res = await request(`${sandboxUrl}/sandbox/calls?service=cursor-runner&method=iterate-async`);
  return ((await res.body.json()) as { calls: unknown[] }).calls.length;
}

async function clearCalls(sandboxUrl: string): Promise<void> {
  const res = await request(`${sandboxUrl}/sandbox/calls`, { method: 'DELETE' });
  await res.body.dump();
}

/**
 * Sample every process's VmRSS each `everyMs`, and its V8 heap in use (its /metrics) every fifth
 * sample, until `done` resolves; the highest value of each.
 */
async function peaks(processes: Stack['processes'], done: Promise<unknown>, everyMs = 200) {
  const rss = new Map<string, number>();
  const heap = new Map<string, number>();
  const keep = (into: Map<string, number>, name: string, mb: number | null) => {
    if (mb !== null) into.set(name, Math.max(into.get(name) ?? 0, mb));
  };
  let finished = false;
  void done.finally(() => (finished = true));
  for (let n = 0; !finished; n++) {
    for (const p of processes) {
      keep(rss, p.name, await vmRssMb(p.proc.pid));
      if (n % 5 === 0) keep(heap, p.name, await heapUsedMb(p.opsUrl));
    }
    await sleep(everyMs);
  }
  return { rss, heap };
}

/**
 * RSS per process (issue 11): bare Node 24, then our built services (and, with a baseline checkout,
 * today's main from its .ts sources), each idle after start-up and at `rate` webhooks/s until the
 * worker has forwarded everything. Same Redis, sandbox and load generator for every flavour.
 */
export async function runMemory(opts: MemoryOptions = {}): Promise<MemoryReport> {
  const log = opts.log ?? (() => undefined);
  const rate = opts.rate ?? 2000;
  const settleMs = opts.quick ? 5000 : 15_000;
  const loadMs = opts.quick ? 5000 : 20_000;
  log('build (make build)');
  await buildAll();
  const report: MemoryReport = { quick: opts.quick ?? false, rate, commands: {}, rows: [], load: {} };

  const bare = spawn(process.execPath, ['-e', 'setInterval(()=>{},1e3)'], { stdio: 'ignore' });
  await sleep(settleMs);
  report.rows.push({
    flavour: 'node',
    process: 'bare node',
    idleMb: (await vmRssMb(bare.pid!)) ?? 0,
    loadMb: null,
    idleHeapMb: null,
    loadHeapMb: null,
  });
  bare.kill();
  report.commands.node = `node -e 'setInterval(()=>{},1e3)'`;

  const gatewayPort = await freePort();
  const base = await startBase(gatewayPort);
  const generator = LoadGeneratorProcess.start();
  let firstUpdateId = 200_000_000;
  try {
    for (const flavour of flavours(opts.baselineDir, opts.dropNodeArgs ?? [])) {
      report.commands[flavour.name] = SERVICES.map(
        s => `node ${flavour.nodeArgs(s).join(' ')} ${flavour.entry(s)}`,
      ).join('; ');
      log(`${flavour.name}: start gateway, worker, metrics; idle ${settleMs / 1000} s`);
      const stack = await startStack(base, gatewayPort, flavour);
      try {
        await sleep(settleMs);
        const idle = new Map<ServiceName, { rss: number; heap: number | null }>();
        for (const p of stack.processes) {
          idle.set(p.name, { rss: (await vmRssMb(p.proc.pid)) ?? 0, heap: await heapUsedMb(p.opsUrl) });
        }
        await clearCalls(base.sandboxUrl);
        log(
          `${flavour.name}: ${rate} webhooks/s for ${loadMs / 1000} s, until the worker forwarded every update`,
        );
        const started = performance.now();
        const phase = (async () => {
          const result = await generator.run({
            mode: 'open',
            rate,
            durationMs: loadMs,
            promptSuffix: NO_CALLBACK,
            origin: `http://127.0.0.1:${gatewayPort}`,
            headers: BENCH_SECRET_HEADER,
            firstUpdateId,
          });
          let forwarded: number;
          const deadline = Date.now() + 120_000;
          while ((forwarded = await cursorCalls(base.sandboxUrl)) < result.ok && Date.now() < deadline) {
            await sleep(250);
          }
          return { result, forwarded, drainMs: performance.now() - started - loadMs };
        })();
        const peak = await peaks(stack.processes, phase);
        const outcome = await phase;
        firstUpdateId += 50_000_000;
        report.load[flavour.name] = outcome;
        log(
          `  accepted ${outcome.result.ok}/${outcome.result.sent} at ${Math.round(outcome.result.achievedRate)}/s, ` +
            `forwarded ${outcome.forwarded}, drained ${Math.round(outcome.drainMs)} ms after the last send`,
        );
        for (const p of stack.processes) {
          const row: MemoryRow = {
            flavour: flavour.name,
            process: p.name,
            idleMb: idle.get(p.name)!.rss,
            loadMb: peak.rss.get(p.name) ?? null,
            idleHeapMb: idle.get(p.name)!.heap,
            loadHeapMb: peak.heap.get(p.name) ?? null,
          };
          report.rows.push(row);
          log(`  ${p.name}: idle ${row.idleMb.toFixed(1)} MB, under load ≤ ${row.loadMb?.toFixed(1)} MB`);
        }
      } finally {
        await stack.stop();
      }
    }
  } finally {
    await generator.close();
    await base.sandbox.stop();
    await base.redis.close();
  }
  return report;
}

/** The report as Markdown: one row per process, ours next to main and bare Node, and the targets. */
export function memoryMarkdown(report: MemoryReport): string {
  const f = (n: number | null | undefined) => (n === null || n === undefined ? '—' : n.toFixed(0));
  const row = (flavour: MemoryRow['flavour'], process: MemoryRow['process']) =>
    report.rows.find(r => r.flavour === flavour && r.process === process);
  const node = row('node', 'bare node');
  const lines = [
    `RSS (VmRSS, MB = 10^6 bytes); "under load" = highest sample (every 200 ms) while the webhook takes ${report.rate} updates/s and until the worker has forwarded all of them (the worker is saturated). Bare Node 24 idles at ${f(node?.idleMb)} MB in the same run.`,
    '',
    '| process | ours idle | target | main idle | ours under load | target | main under load | heap used idle, ours / main | heap used under load, ours / main |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const s of SERVICES) {
    const ours = row('ours', s);
    const main = row('main', s);
    const t = MEMORY_TARGETS[s];
    const met = (v: number | null | undefined, target: number) =>
      v === null || v === undefined ? '' : v <= target ? ' ✓' : ' **✗**';
    lines.push(
      `| ${s} | ${f(ours?.idleMb)}${met(ours?.idleMb, t.idle)} | ≤ ${t.idle} | ${f(main?.idleMb)} | ${f(ours?.loadMb)}${met(ours?.loadMb, t.load)} | ≤ ${t.load} | ${f(main?.loadMb)} | ${f(ours?.idleHeapMb)} / ${f(main?.idleHeapMb)} | ${f(ours?.loadHeapMb)} / ${f(main?.loadHeapMb)} |`,
    );
  }
  lines.push('', 'Load phases:', '');
  for (const [flavour, l] of Object.entries(report.load)) {
    lines.push(
      `- ${flavour}: ${l.result.ok}/${l.result.sent} webhooks accepted at ${Math.round(l.result.achievedRate)}/s; the worker forwarded ${l.forwarded} to cursor-runner, the last ${(l.drainMs / 1000).toFixed(1)} s after the last send`,
    );
  }
  lines.push('', 'Commands:', '', ...Object.entries(report.commands).map(([k, v]) => `- ${k}: \`${v}\``));
  return lines.join('\n');
}
