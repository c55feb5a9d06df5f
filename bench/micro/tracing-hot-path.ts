// What tracing adds to one webhook request, without HTTP or Redis around it: the webhook's span calls
// (`inServerSpan`, `inProducerSpan` and the job's trace carrier), CPU µs per request, with tracing off and
// with sampling 0, 0.1 and 1.0: `node bench/micro/tracing-hot-path.ts`. Each setting runs in a child
// process (the SDK is process-wide); spans go to an exporter that drops them (the OTLP serialisation
// is in `make bench`'s ingest figures, not here). Steadier than the ingest benchmark on a busy machine:
// one loop, CPU time only.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { inProducerSpan, inServerSpan } from '@telegram-receiver/core';
import { startTracing } from '@telegram-receiver/core/start-tracing';

const REQUESTS = Number(process.env.REQUESTS ?? 200_000);
const SETTINGS = ['off', '0', '0.1', '1'] as const;

type SpanExporter = NonNullable<NonNullable<Parameters<typeof startTracing>[1]>['exporter']>;

/** Drops every span (and says it exported them). */
const dropAll: SpanExporter = {
  export: (_spans, done) => done({ code: 0 }),
  shutdown: async () => {},
};

async function request(): Promise<string | undefined> {
  return await inServerSpan('POST /telegram/webhook', { 'http.request.method': 'POST' }, async span =>
    inProducerSpan('updates', 'telegram-update', async carrier => carrier, { parent: span }),
  );
}

async function measure(setting: string): Promise<void> {
  if (setting !== 'off') startTracing(process.env, { exporter: dropAll });
  for (let i = 0; i < REQUESTS / 10; i++) await request();
  const before = process.cpuUsage();
  for (let i = 0; i < REQUESTS; i++) await request();
  const used = process.cpuUsage(before);
  process.stdout.write(`${((used.user + used.system) / REQUESTS).toFixed(2)}\n`);
}

const child = process.argv[2];
if (child !== undefined) {
  await measure(child);
  process.exit(0);
}
const results: Record<string, number> = {};
for (const setting of SETTINGS) {
  const run = spawnSync(process.execPath, [fileURLToPath(import.meta.url), setting], {
    encoding: 'utf8',
    env: {
      ...process.env,
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: setting === 'off' ? '0' : setting,
    },
  });
  if (run.status !== 0) throw new Error(`tracing ${setting} failed: ${run.stderr}`);
  results[setting] = Number(run.stdout.trim());
}
const off = results.off ?? 0;
console.log(`tracing hot path, CPU µs per request (${REQUESTS} requests per setting):`);
for (const setting of SETTINGS) {
  const value = results[setting] ?? 0;
  const label = setting === 'off' ? 'tracing off' : `sampled ${setting}`;
  console.log(`  ${label.padEnd(12)} ${value.toFixed(2)} µs (+${(value - off).toFixed(2)} µs)`);
}
