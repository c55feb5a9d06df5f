// `make observe-check` (part of `make ci`): start the local observability stack, run `make demo`
// against it plus a little traffic that exercises every panel (a rejected webhook, a re-delivery, a
// 429 and a permanent Telegram refusal from the sandbox), then check that
//  - Jaeger's query API holds the demo updates' traces, found by `telegram.update_id`, with every
//    span of the pipeline (gateway, producer, consumer, Redis, cursor-runner, sendMessage; and
//    getFile, download, speech-to-text for the voice note);
//  - every PromQL expression of every dashboard returns data from the Prometheus scraping the stack;
//  - every metric a dashboard reads is exported by a running service.
// Bounded: each wait has a deadline, and the stack is stopped whatever happens.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { waitFor } from '@telegram-receiver/testing';
import { dashboardQueries, metricNamesOf } from './dashboards.ts';
import { startObserveStack, toolsFromEnv, type ObserveStack } from './observe-stack.ts';

const run = promisify(execFile);
const say = (line: string): void => {
  process.stdout.write(`observe-check: ${line}\n`);
};

interface JaegerSpan {
  spanID: string;
  operationName: string;
  references: { refType: string; spanID: string }[];
  tags: { key: string; value: unknown }[];
  processID: string;
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

const tag = (s: JaegerSpan, key: string) => s.tags.find(t => t.key === key)?.value;
const calls = (path: string) => (s: JaegerSpan) => String(tag(s, 'url.full') ?? '').includes(path);

/** The checks a trace must pass: name → predicate over its spans. */
function expectations(voice: boolean): Record<string, (spans: JaegerSpan[]) => boolean> {
  const base: Record<string, (spans: JaegerSpan[]) => boolean> = {
    'gateway server span': s => s.some(x => x.operationName.startsWith('POST /telegram/webhook')),
    'producer span': s => s.some(x => x.operationName === 'add updates.telegram-update'),
    'consumer span': s => s.some(x => x.operationName === 'process updates'),
    'Redis command spans': s =>
      s.some(x => tag(x, 'db.system') === 'redis' || tag(x, 'db.system.name') === 'redis'),
    'cursor-runner call': s => s.some(calls('/cursor/iterate/async')),
    'callback continued in the trace': s => s.some(x => x.operationName === 'deliver cursor-runner result'),
    'Telegram sendMessage': s => s.some(calls('/sendMessage')),
  };
  if (!voice) return base;
  return {
    ...base,
    'Telegram getFile': s => s.some(calls('/getFile')),
    'file download': s => s.some(calls('/file/bot')),
    'speech-to-text': s => s.some(calls('/v1/speech-to-text')),
  };
}

async function checkTrace(stack: ObserveStack, updateId: number, voice: boolean): Promise<void> {
  const tags = encodeURIComponent(JSON.stringify({ 'telegram.update_id': String(updateId) }));
  const url = `${stack.jaegerUrl}/api/traces?service=telegram-receiver-gateway&tags=${tags}&lookback=1h&limit=5`;
  const checks = expectations(voice);
  let missing: string[] = [];
  const found = await waitFor(
    async () => {
      const { data } = await json<{ data: JaegerTrace[] | null }>(url);
      const trace = data?.[0];
      if (trace === undefined) {
        missing = ['the trace itself'];
        return undefined;
      }
      // The search returns the matching span's trace; read it whole by id.
      const [whole] = (await json<{ data: JaegerTrace[] }>(`${stack.jaegerUrl}/api/traces/${trace.traceID}`))
        .data;
      if (whole === undefined) return undefined;
      missing = Object.entries(checks)
        .filter(([, ok]) => !ok(whole.spans))
        .map(([name]) => name);
      return missing.length === 0 ? whole : undefined;
    },
    {
      timeoutMs: 30_000,
      intervalMs: 500,
      message: `the trace of update ${updateId} (missing: ${missing.join(', ')})`,
    },
  ).catch((err: unknown) => {
    throw new Error(
      `update ${updateId}: ${err instanceof Error ? err.message : String(err)}; missing ${missing.join(', ')}`,
    );
  });
  const services = new Set(Object.values(found.processes).map(p => p.serviceName));
  say(
    `trace ${found.traceID} of update ${updateId}: ${found.spans.length} spans from ${[...services].join(', ')}`,
  );
}

/** Extra traffic so every panel has something to show. */
async function exercise(stack: ObserveStack): Promise<void> {
  const post = (body: unknown, secret = stack.webhookSecret) =>
    fetch(`${stack.gatewayUrl}/telegram/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret },
      body: JSON.stringify(body),
    }).then(res => res.status);
  const fault = (rule: unknown) =>
    fetch(`${stack.sandboxUrl}/sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(rule),
    });
  const chat = 990_000 + Math.floor(Math.random() * 1000);
  const update = (id: number, chatId: number, text: string) => ({
    update_id: id,
    message: {
      message_id: id,
      date: Math.floor(Date.now() / 1000),
      chat: { id: chatId, type: 'private' },
      text,
    },
  });
  const base = Date.now();
  if ((await post(update(base, chat, 'wrong secret'), 'not-the-secret')) !== 401) {
    throw new Error('expected a 401');
  }
  if ((await post(update(base + 1, chat, '/start'))) !== 200) throw new Error('expected a 200');
  await post(update(base + 1, chat, '/start')); // Telegram re-delivers: a dedup hit
  // One 429 waited out (throttling), then a refusal for good (a dead letter).
  await fault({
    service: 'telegram',
    method: 'sendMessage',
    chatId: chat + 1,
    type: 'status',
    status: 429,
    retryAfter: 1,
    times: 1,
  });
  await post(update(base + 2, chat + 1, '/start'));
  await fault({
    service: 'telegram',
    method: 'sendMessage',
    chatId: chat + 2,
    type: 'status',
    status: 400,
    description: 'Bad Request: chat not found',
    times: 20,
  });
  await post(update(base + 3, chat + 2, '/start'));
}

async function checkDashboards(stack: ObserveStack): Promise<void> {
  const queries = dashboardQueries();
  const pending = new Map(queries.map(q => [q.expr, q]));
  await waitFor(
    async () => {
      for (const [expr] of pending) {
        const promql = expr.replaceAll('$__rate_interval', '1m').replaceAll('$__range', '15m');
        const body = new URLSearchParams({ query: promql });
        const answer = await json<{ status: string; data: { result: unknown[] } }>(
          `${stack.prometheusUrl}/api/v1/query`,
          {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body,
          },
        );
        if (answer.status === 'success' && answer.data.result.length > 0) pending.delete(expr);
      }
      return pending.size === 0;
    },
    { timeoutMs: 60_000, intervalMs: 1000, message: 'every dashboard query to return data' },
  ).catch(() => {
    const list = [...pending.values()].map(q => `  ${q.file} / ${q.title}: ${q.expr}`).join('\n');
    throw new Error(`dashboard queries without data:\n${list}`);
  });
  say(`${queries.length} dashboard queries return data`);

  const exported = new Set<string>();
  for (const url of [stack.gatewayOpsUrl, stack.workerOpsUrl, stack.metricsOpsUrl]) {
    const text = await (await fetch(`${url}/metrics`)).text();
    for (const name of text.match(/^telegram_receiver_[a-z0-9_]+/gm) ?? []) exported.add(name);
  }
  const unknown = queries.flatMap(q => metricNamesOf(q.expr).filter(name => !exported.has(name)));
  if (unknown.length > 0) {
    throw new Error(`dashboards read metrics no service exports: ${[...new Set(unknown)].join(', ')}`);
  }
  say('every metric the dashboards read is exported by the gateway, the worker or the metrics service');
}

const tools = toolsFromEnv();
for (const overlay of ['local', 'cluster']) {
  await run(tools.otelcol, [
    'validate',
    '--config',
    'otel/collector/base.yaml',
    '--config',
    `otel/collector/${overlay}.yaml`,
  ]);
}
say('otelcol validate: base + local, base + cluster');
const stack = await startObserveStack(tools, say);
let failed = false;
try {
  const demo = await run(process.execPath, ['scripts/demo.ts'], {
    env: {
      ...process.env,
      GATEWAY_URL: stack.gatewayUrl,
      SANDBOX_URL: stack.sandboxUrl,
      TELEGRAM_WEBHOOK_SECRET: stack.webhookSecret,
    },
    timeout: 60_000,
  });
  const [text, voice] = [...demo.stdout.matchAll(/\[update_id (\d+)\]/g)].map(m => Number(m[1]));
  if (text === undefined || voice === undefined) {
    throw new Error(`make demo did not print its two update ids:\n${demo.stdout}`);
  }
  say(`make demo sent updates ${text} (text) and ${voice} (voice)`);
  await checkTrace(stack, text, false);
  await checkTrace(stack, voice, true);
  await exercise(stack);
  await checkDashboards(stack);
} catch (err) {
  failed = true;
  process.stderr.write(
    `observe-check: ${err instanceof Error ? err.message : String(err)}\n(logs kept in ${stack.dir})\n`,
  );
  process.env.OBSERVE_KEEP_LOGS = '1';
} finally {
  await stack.stop();
}
process.exit(failed ? 1 : 0);
