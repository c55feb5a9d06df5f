// `make load-smoke`: the smoke and average-load profiles of k6/profiles.json, through our own open-loop
// generator, against `make dev`'s stack (scripts/dev.ts: private Redis, sandbox, gateway, worker), with
// the same thresholds k6 enforces. Delivery is measured from each update's scheduled send to the bot's
// reply (sendMessage) recorded by the sandbox. Exits 1 when a threshold fails.
//   node bench/load-smoke.ts [--profiles smoke,average-load] [--slow-sandbox-ms 1500]
// --slow-sandbox-ms injects latency into every cursor-runner call (the sandbox's fault injection): the
// delivery thresholds must then fail, which is how we know they are enforced.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort, waitFor } from '@telegram-receiver/testing';
import profilesData from '../k6/profiles.json' with { type: 'json' };
import { arrivalOffsets, type ArrivalScenario } from './lib/arrivals.ts';
import { LatencyRecorder, type LatencySummary } from './lib/latency-recorder.ts';
import type { LoadResult } from './lib/load.ts';
import { LoadGeneratorProcess } from './lib/run-load.ts';
import { evaluateAll, type MetricValues, type ThresholdOutcome } from './lib/thresholds.ts';
import { chatOfRequest } from './lib/update-body.ts';

const DEV_SCRIPT = fileURLToPath(new URL('../scripts/dev.ts', import.meta.url));
const WEBHOOK_SECRET = 'load-smoke-webhook-secret';
/** How long after the last send a reply may still arrive and count as delivered. */
const DELIVERY_GRACE_MS = 15_000;

interface ProfileData {
  chats: number;
  scenarios: Record<string, unknown>;
  thresholds: Record<string, string[]>;
}
const PROFILES = profilesData.profiles as unknown as Record<string, ProfileData>;

/** Options of {@link runLoadSmoke}. */
export interface LoadSmokeOptions {
  /** Profiles of k6/profiles.json to run, in order. @defaultValue ['smoke', 'average-load'] */
  profiles?: string[];
  /** Latency injected into every cursor-runner call, ms. @defaultValue 0 */
  slowSandboxMs?: number;
  log?: (line: string) => void;
}

/** One profile's outcome. */
export interface ProfileReport {
  profile: string;
  sent: number;
  ok: number;
  delivered: number;
  webhook: LatencySummary;
  delivery: LatencySummary;
  outcomes: ThresholdOutcome[];
  /** Threshold metrics only k6 measures (other scenarios than the webhook's). */
  notMeasured: string[];
  /** How late our generator itself sent, p95 ms: high means the machine, not the server, was busy. */
  sendLagP95Ms: number;
}

interface DevStack {
  gateway: string;
  sandbox: string;
  stop: () => Promise<void>;
}

/** `make dev`'s stack on free ports, quiet; resolves when it printed that it is ready. */
async function startDevStack(): Promise<DevStack> {
  const [port, gatewayOps, gatewayAdmin, workerOps, metricsOps, sandboxPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const child: ChildProcess = spawn(process.execPath, [DEV_SCRIPT], {
    env: {
      ...process.env,
      PORT: String(port),
      GATEWAY_OPS_PORT: String(gatewayOps),
      GATEWAY_ADMIN_PORT: String(gatewayAdmin),
      WORKER_OPS_PORT: String(workerOps),
      METRICS_OPS_PORT: String(metricsOps),
      SANDBOX_PORT: String(sandboxPort),
      TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise(resolve => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  try {
    await waitFor(
      () => {
        if (child.exitCode !== null) {
          throw new Error(`make dev exited with ${child.exitCode}: ${output.slice(-500)}`);
        }
        return output.includes('dev stack ready');
      },
      { timeoutMs: 60_000, intervalMs: 100, message: 'make dev did not get ready' },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { gateway: `http://127.0.0.1:${port}`, sandbox: `http://127.0.0.1:${sandboxPort}`, stop };
}

async function sandboxCall(sandbox: string, method: string, path: string, body?: unknown): Promise<Response> {
  const res = await fetch(`${sandbox}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`sandbox ${method} ${path} answered ${res.status}: ${await res.text()}`);
  return res;
}

/** When each chat first got a sendMessage (ms since the epoch). */
async function repliesByChat(sandbox: string): Promise<Map<number, number>> {
  const res = await sandboxCall(sandbox, 'GET', '/sandbox/calls?service=telegram&method=sendMessage');
  const { calls } = (await res.json()) as { calls: { at: number; chatId?: number }[] };
  const first = new Map<number, number>();
  for (const c of calls) {
    if (c.chatId !== undefined && !(first.get(c.chatId)! <= c.at)) first.set(c.chatId, c.at);
  }
  return first;
}

function trend(s: LatencySummary): MetricValues {
  return {
    kind: 'trend',
    avg: s.mean,
    med: s.p50,
    max: s.max,
    percentiles: { 50: s.p50, 95: s.p95, 99: s.p99, 99.9: s.p999 },
  };
}

async function runProfile(
  name: string,
  stack: DevStack,
  generator: LoadGeneratorProcess,
  firstUpdateId: number,
): Promise<ProfileReport> {
  const profile = PROFILES[name];
  if (!profile) {
    throw new Error(`no profile '${name}' in k6/profiles.json (have: ${Object.keys(PROFILES).join(', ')})`);
  }
  const scenario = profile.scenarios.webhook as ArrivalScenario | undefined;
  if (!scenario) throw new Error(`profile '${name}' has no webhook scenario`);
  await sandboxCall(stack.sandbox, 'DELETE', '/sandbox/calls');
  const arrivalsMs = arrivalOffsets(scenario);
  const durationMs = Math.ceil(arrivalsMs.at(-1) ?? 0) + 1;
  const load: LoadResult = await generator.run({
    mode: 'open',
    origin: stack.gateway,
    headers: { 'x-telegram-bot-api-secret-token': WEBHOOK_SECRET },
    firstUpdateId,
    chats: profile.chats,
    rate: (arrivalsMs.length * 1000) / durationMs,
    durationMs,
    arrivalsMs,
  });

  // Every update comes from its own chat (chats ≫ updates), so a chat's first reply is its update's.
  const chatToRequest = new Map<number, number>();
  for (let i = 0; i < load.sent; i++) chatToRequest.set(chatOfRequest(i, profile.chats), i);
  let replies = new Map<number, number>();
  await waitFor(
    async () => {
      replies = await repliesByChat(stack.sandbox);
      return [...chatToRequest.keys()].every(chat => replies.has(chat));
    },
    { timeoutMs: DELIVERY_GRACE_MS, intervalMs: 250 },
  ).catch(() => undefined); // undelivered updates count against the delivery thresholds below
  const delivery = new LatencyRecorder();
  for (const [chat, i] of chatToRequest) {
    const at = replies.get(chat);
    if (at !== undefined) delivery.record(at - (load.startedAtEpochMs + arrivalsMs[i]!));
  }

  const measured: Record<string, MetricValues> = {
    'http_req_duration{scenario:webhook}': trend(load.latency),
    'http_req_failed{scenario:webhook}': {
      kind: 'rate',
      rate: load.sent === 0 ? 1 : (load.sent - load.ok) / load.sent,
    },
    'checks{scenario:webhook}': { kind: 'rate', rate: load.sent === 0 ? 0 : load.ok / load.sent },
    telegram_receiver_delivery_duration: trend(delivery.summary()),
    telegram_receiver_delivered: { kind: 'rate', rate: load.sent === 0 ? 0 : delivery.count / load.sent },
  };
  const { outcomes, notMeasured } = evaluateAll(profile.thresholds, measured);
  return {
    profile: name,
    sent: load.sent,
    ok: load.ok,
    delivered: delivery.count,
    webhook: load.latency,
    delivery: delivery.summary(),
    outcomes,
    notMeasured,
    sendLagP95Ms: load.sendLag?.p95 ?? 0,
  };
}

/** Run the profiles against a fresh `make dev` stack; the reports say which thresholds held. */
export async function runLoadSmoke(opts: LoadSmokeOptions = {}): Promise<ProfileReport[]> {
  const log = opts.log ?? (() => undefined);
  const stack = await startDevStack();
  const generator = LoadGeneratorProcess.start();
  try {
    if (opts.slowSandboxMs) {
      await sandboxCall(stack.sandbox, 'POST', '/sandbox/faults', {
        service: 'cursor-runner',
        type: 'latency',
        ms: opts.slowSandboxMs,
      });
      log(`sandbox slowed down: +${opts.slowSandboxMs} ms on every cursor-runner call`);
    }
    const reports: ProfileReport[] = [];
    let firstUpdateId = Date.now() * 10; // unique per run: the gateway deduplicates update ids
    for (const name of opts.profiles ?? ['smoke', 'average-load']) {
      log(`profile ${name} …`);
      const report = await runProfile(name, stack, generator, firstUpdateId);
      firstUpdateId += report.sent + 1;
      reports.push(report);
      for (const o of report.outcomes) {
        log(
          `  ${o.ok ? 'ok  ' : 'FAIL'} ${o.metric} ${o.expression} (actual ${Math.round(o.actual * 1000) / 1000})`,
        );
      }
      if (report.notMeasured.length > 0) log(`  k6 only: ${report.notMeasured.join(', ')}`);
      log(
        `  sent ${report.sent}, 2xx ${report.ok}, delivered ${report.delivered}; generator send lag p95 ${report.sendLagP95Ms.toFixed(1)} ms`,
      );
    }
    return reports;
  } finally {
    await generator.close();
    await stack.stop();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { profiles: { type: 'string' }, 'slow-sandbox-ms': { type: 'string' } },
  });
  const slow = values['slow-sandbox-ms'] === undefined ? 0 : Number(values['slow-sandbox-ms']);
  if (!Number.isInteger(slow) || slow < 0 || slow > 60_000) {
    console.error('--slow-sandbox-ms must be an integer of ms in [0, 60000]');
    process.exit(2);
  }
  const reports = await runLoadSmoke({
    ...(values.profiles ? { profiles: values.profiles.split(',') } : {}),
    slowSandboxMs: slow,
    log: line => console.log(line),
  });
  const failed = reports.flatMap(r =>
    r.outcomes.filter(o => !o.ok).map(o => `${r.profile}: ${o.metric} ${o.expression}`),
  );
  if (failed.length > 0) {
    console.error(`load-smoke failed ${failed.length} threshold(s):\n  ${failed.join('\n  ')}`);
    process.exit(1);
  }
  console.log('load-smoke: every threshold held');
}
