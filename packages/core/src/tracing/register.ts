// The tracing bootstrap, loaded before anything else: `node --import @telegram-receiver/core/register
// services/<name>/src/main.ts` (built: `services/<name>/dist/main.js`). The ESM hook lets the
// instrumentations patch modules the service imports afterwards; without an OTLP endpoint nothing
// is started and the OpenTelemetry SDK is not even loaded (see start-tracing.ts).
import { register } from 'node:module';

if (
  process.env.OTEL_SDK_DISABLED !== 'true' &&
  (process.env.OTEL_EXPORTER_OTLP_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
) {
  // Only the modules an instrumentation patches go through import-in-the-middle: wrapping every
  // ESM module costs CPU on every call across a module boundary (measured in `make bench`).
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, {
    data: { include: ['ioredis', 'koa', 'undici'] },
  });
  const { startTracing } = await import('./start-tracing.ts');
  startTracing(process.env);
}
