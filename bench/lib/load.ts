import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { LatencyRecorder, type LatencySummary } from './latency-recorder.ts';
import { updateBodyFactory } from './update-body.ts';

/** What every load phase needs: where to send, and which updates. */
export interface LoadCommon {
  /** `http://127.0.0.1:<port>`; any other host is refused (the bench never leaves the machine). */
  origin: string;
  /** @defaultValue '/telegram/webhook' */
  path?: string;
  /** Extra request headers, e.g. `X-Telegram-Bot-Api-Secret-Token`. */
  headers?: Record<string, string>;
  /** How long the phase sends, in ms (1 ms – 2 h: the soak sends for 30 min). */
  durationMs: number;
  /** update_id of the first request; request `i` carries `firstUpdateId + i`. */
  firstUpdateId: number;
  /** Distinct chats the updates come from. @defaultValue 10000 */
  chats?: number;
  /** Appended to every message text (see `updateBodyFactory`). @defaultValue '' */
  promptSuffix?: string;
  /** Give up on one request after this long (counted as an error). @defaultValue 10000 */
  requestTimeoutMs?: number;
  /** List the requests not answered 2xx in the result (`failedIndices`). @defaultValue false */
  recordFailures?: boolean;
}

/** Open loop: requests leave at fixed arrival times whatever the server does. */
export interface OpenLoopOptions extends LoadCommon {
  mode: 'open';
  /** Arrivals per second. */
  rate: number;
  /** Most keep-alive connections to open (Telegram uses up to 100, default 40). @defaultValue 64 */
  connections?: number;
  /**
   * Arrival offsets in ms from the start (e.g. a k6 ramping-arrival-rate schedule, see arrivals.ts),
   * instead of `rate` × `durationMs` evenly spaced; `rate` is then only reported.
   */
  arrivalsMs?: number[];
}

/** Closed loop: `concurrency` connections each send the next request as soon as the last answered. */
export interface SaturationOptions extends LoadCommon {
  mode: 'saturate';
  concurrency: number;
}

export type LoadOptions = OpenLoopOptions | SaturationOptions;

type PerRun = 'origin' | 'headers' | 'firstUpdateId';
/** A benchmark's named phases; the runner adds the target, the headers and the update ids. */
export type PhasePlan = {
  phase: string;
  load: Omit<OpenLoopOptions, PerRun> | Omit<SaturationOptions, PerRun>;
}[];

/** Outcome of one phase. */
export interface LoadResult {
  mode: LoadOptions['mode'];
  /** Asked arrival rate (open loop) or `null` (saturation). */
  rateAsked: number | null;
  connections: number;
  /** Requests started. */
  sent: number;
  /** Requests answered 2xx. */
  ok: number;
  /** Failures by kind: `status:<code>` for HTTP answers, the error code for transport failures. */
  errors: Record<string, number>;
  /** 2xx answers per second, from the first scheduled send to the last answer. */
  achievedRate: number;
  elapsedMs: number;
  /**
   * Wall-clock time (ms since the epoch, fractional) of the first scheduled send: request `i` of an
   * open-loop phase was scheduled at `startedAtEpochMs + i * 1000 / rateAsked`, which lets another
   * process's timestamps (the sandbox's call record) be turned into latencies.
   */
  startedAtEpochMs: number;
  /**
   * Latency of 2xx answers. Open loop: from the SCHEDULED send time, so a stalled server or a
   * queue in front of it counts in full (no coordinated omission). Saturation: service time.
   */
  latency: LatencySummary;
  /** Open loop only: how late the generator itself sent (timer granularity, CPU contention). */
  sendLag: LatencySummary | null;
  /**
   * Per 500 ms of send time (by when each answered request was due or sent): answers 2xx, and their
   * mean and max latency. Tells a steady overload (latency climbing) from a stall (a spike).
   */
  timeline: { atMs: number; ok: number; meanMs: number; maxMs: number }[];
  /** CPU seconds the generator process used for this phase. */
  generatorCpuSeconds: number;
  /** With `recordFailures`: the request indices not answered 2xx (Telegram would send these again). */
  failedIndices?: number[];
}

const MAX_DURATION_MS = 2 * 60 * 60_000;
const TIMELINE_BUCKET_MS = 500;

/** Refuse anything but the loopback address, so a mistyped URL never load-tests someone else. */
export function assertLoopback(origin: string): URL {
  const url = URL.canParse(origin) ? new URL(origin) : undefined;
  if (!url) throw new Error(`load target must be http://127.0.0.1:<port>, got an unparseable origin`);
  if (url.protocol !== 'http:' || url.hostname !== '127.0.0.1') {
    throw new Error(`load target must be http://127.0.0.1:<port>, got ${url.protocol}//${url.hostname}`);
  }
  return url;
}

function errorKind(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : err instanceof Error ? err.name : 'unknown';
}

/**
 * Run one load phase in this process. It stops by itself: sending ends after `durationMs`, and
 * requests still unanswered `requestTimeoutMs` later are counted as `unfinished`.
 * Run it through `LoadGeneratorProcess` (run-load.ts) so it does not share an event loop with the server under test.
 */
export async function generateLoad(opts: LoadOptions): Promise<LoadResult> {
  const url = assertLoopback(opts.origin);
  if (!(opts.durationMs > 0 && opts.durationMs <= MAX_DURATION_MS)) {
    throw new Error(`durationMs must be in (0, ${MAX_DURATION_MS}], got ${opts.durationMs}`);
  }
  if (opts.mode === 'open' && !(opts.rate > 0 && opts.rate <= 1_000_000)) {
    throw new Error(`rate must be in (0, 1000000], got ${opts.rate}`);
  }
  if (opts.mode === 'saturate' && !(Number.isInteger(opts.concurrency) && opts.concurrency >= 1)) {
    throw new Error(`concurrency must be a positive integer, got ${opts.concurrency}`);
  }
  const connections = opts.mode === 'open' ? (opts.connections ?? 64) : opts.concurrency;
  const timeout = opts.requestTimeoutMs ?? 10_000;
  const pool = new Pool(url.origin, {
    connections,
    pipelining: 1,
    headersTimeout: timeout,
    bodyTimeout: timeout,
    connectTimeout: timeout,
  });
  const path = opts.path ?? '/telegram/webhook';
  const headers = { 'content-type': 'application/json', ...opts.headers };
  const body = updateBodyFactory({
    firstUpdateId: opts.firstUpdateId,
    chats: opts.chats,
    promptSuffix: opts.promptSuffix,
  });

  const latency = new LatencyRecorder();
  const buckets: { ok: number; sum: number; max: number }[] = [];
  const lag = new LatencyRecorder();
  const errors: Record<string, number> = {};
  const failed: number[] = [];
  /** With `recordFailures`: requests not answered yet (failed if still there at the end). */
  const inFlight = new Set<number>();
  const fail = (kind: string, i: number) => {
    errors[kind] = (errors[kind] ?? 0) + 1;
    if (opts.recordFailures) failed.push(i);
  };
  let sent = 0;
  let ok = 0;
  let pending = 0;
  let closed = false;
  let lastAnswer = 0;
  let onIdle: (() => void) | undefined;

  /** Send request `i`; its latency counts from `from` (scheduled time or actual start). */
  const send = async (i: number, from: number): Promise<void> => {
    sent++;
    pending++;
    if (opts.recordFailures) inFlight.add(i);
    try {
      const res = await pool.request({ path, method: 'POST', headers, body: body(i) });
      await res.body.dump();
      if (closed) return;
      const now = performance.now();
      lastAnswer = now;
      if (res.statusCode >= 200 && res.statusCode < 300) {
        ok++;
        latency.record(now - from);
        // (+1e-9: start + i * interval - start is not exactly i * interval in floating point)
        const b = (buckets[Math.max(0, Math.floor((from - start) / TIMELINE_BUCKET_MS + 1e-9))] ??= {
          ok: 0,
          sum: 0,
          max: 0,
        });
        b.ok++;
        b.sum += now - from;
        b.max = Math.max(b.max, now - from);
      } else {
        fail(`status:${res.statusCode}`, i);
      }
    } catch (err) {
      if (!closed) {
        lastAnswer = performance.now();
        fail(errorKind(err), i);
      }
    } finally {
      if (!closed) inFlight.delete(i);
      pending--;
      if (pending === 0) onIdle?.();
    }
  };

  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  if (opts.mode === 'open') {
    const interval = 1000 / opts.rate;
    const arrivals = opts.arrivalsMs;
    const total = arrivals ? arrivals.length : Math.max(1, Math.round((opts.rate * opts.durationMs) / 1000));
    const due = (i: number) => start + (arrivals ? arrivals[i]! : i * interval);
    let i = 0;
    while (i < total) {
      const now = performance.now();
      while (i < total && due(i) <= now) {
        const scheduled = due(i);
        lag.record(now - scheduled);
        void send(i, scheduled);
        i++;
      }
      // Sleep to the next arrival (≥ 1 ms timer granularity; late sends are measured as lag and
      // count in the latency, never skipped). No busy-wait: the server needs the CPU more.
      const wait = (i < total ? due(i) : start) - performance.now();
      if (i < total) await sleep(Math.max(1, Math.floor(wait)));
    }
  } else {
    const deadline = start + opts.durationMs;
    let next = 0;
    const loop = async () => {
      while (performance.now() < deadline) await send(next++, performance.now());
    };
    await Promise.all(Array.from({ length: opts.concurrency }, loop));
  }

  if (pending > 0) {
    const idle = new Promise<void>(resolve => (onIdle = resolve));
    const drainTimer = sleep(timeout + 1000, 'timeout' as const, { ref: false });
    const outcome = await Promise.race([idle.then(() => 'idle' as const), drainTimer]);
    if (outcome === 'timeout' && pending > 0) {
      errors.unfinished = pending;
      failed.push(...inFlight);
    }
  }
  closed = true;
  await pool.destroy();
  const end = Math.max(lastAnswer, start + 1);
  const cpu = process.cpuUsage(cpuBefore);
  return {
    mode: opts.mode,
    rateAsked: opts.mode === 'open' ? opts.rate : null,
    connections,
    sent,
    ok,
    errors,
    achievedRate: (ok * 1000) / (end - start),
    elapsedMs: end - start,
    startedAtEpochMs: performance.timeOrigin + start,
    latency: latency.summary(),
    sendLag: opts.mode === 'open' ? lag.summary() : null,
    timeline: Array.from(buckets, (b, i) => ({
      atMs: i * TIMELINE_BUCKET_MS,
      ok: b?.ok ?? 0,
      meanMs: b && b.ok > 0 ? Math.round((b.sum / b.ok) * 100) / 100 : 0,
      maxMs: b ? Math.round(b.max * 100) / 100 : 0,
    })),
    generatorCpuSeconds: (cpu.user + cpu.system) / 1e6,
    ...(opts.recordFailures ? { failedIndices: failed } : {}),
  };
}
