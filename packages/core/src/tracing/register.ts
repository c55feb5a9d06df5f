// The tracing bootstrap, loaded before anything else: `node --import @telegram-receiver/core/register
// services/<name>/src/main.ts`. The ESM hook lets the instrumentations patch modules the service
// imports afterwards; without an OTLP endpoint nothing is started (see start-tracing.ts).
import { register } from 'node:module';
import { startTracing } from './start-tracing.ts';

if (
  process.env.OTEL_SDK_DISABLED !== 'true' &&
  (process.env.OTEL_EXPORTER_OTLP_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
) {
  // Only the modules an instrumentation patches go through import-in-the-middle: wrapping every
  // ESM module costs CPU on every call across a module boundary (measured in `make bench`).
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, {
    data: { include: ['ioredis', 'koa', 'undici'] },
  });
  startTracing(process.env);
}
