import { trace } from '@opentelemetry/api';
import { OTLPTraceExporter as OtlpHttpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { KoaInstrumentation, KoaLayerType } from '@opentelemetry/instrumentation-koa';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace';
import { SECRET_ENV_VARS } from '../config.ts';
import { SpanRedactor, addTraceSecrets } from './span-redactor.ts';
import { TRACER, tracingState } from './tracing-state.ts';

/** The OTLP exporter `OTEL_EXPORTER_OTLP[_TRACES]_PROTOCOL` asks for (it reads the endpoint and headers itself). */
function exporterFromEnv(env: NodeJS.ProcessEnv): SpanExporter {
  const protocol =
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf';
  if (protocol === 'http/json') return new OtlpHttpJsonExporter();
  if (protocol === 'http/protobuf') return new OtlpProtobufExporter();
  throw new Error(`OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported: use http/protobuf or http/json`);
}

/**
 * Start the OpenTelemetry NodeSDK, configured only by the standard `OTEL_*` variables
 * (`OTEL_EXPORTER_OTLP_ENDPOINT`, `…_PROTOCOL`, `…_HEADERS`, `OTEL_TRACES_SAMPLER[_ARG]`,
 * `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_SDK_DISABLED`). Without an endpoint nothing
 * is started and nothing is exported. Instrumented: undici, ioredis (command names only, never
 * arguments: they hold chat text; only inside a traced operation, so BullMQ's polling stays out)
 * and koa (routers only, no span per middleware). Incoming HTTP is traced by the services
 * themselves (the webhook's `inServerSpan`, the Koa apps' `traceRequests`): node:http's
 * instrumentation wraps every request and its emitters, sampled or not, and cost the webhook a
 * third of its throughput at 10 % sampling (docs/performance.md).
 * Every span is scrubbed of secrets before export ({@link SpanRedactor}).
 */
export function startTracing(
  env: NodeJS.ProcessEnv = process.env,
  opts: {
    /** Test seam: export every span at once to this exporter instead of OTLP (e.g. InMemorySpanExporter). */
    exporter?: SpanExporter;
  } = {},
): boolean {
  const state = tracingState();
  if (state.stop !== undefined) return true;
  if (env.OTEL_SDK_DISABLED === 'true') return false;
  const hasEndpoint = Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  if (!hasEndpoint && opts.exporter === undefined) return false;
  addTraceSecrets([...SECRET_ENV_VARS].map(name => env[name]));
  const attributes: Record<string, string> = {};
  if (env.npm_package_version) attributes['service.version'] = env.npm_package_version;
  if (env.POD_NAME) attributes['k8s.pod.name'] = env.POD_NAME;
  if (env.POD_NAMESPACE) attributes['k8s.namespace.name'] = env.POD_NAMESPACE;
  if (env.SERVICE_VERSION) attributes['service.version'] = env.SERVICE_VERSION;
  const sdk = new NodeSDK({
    resource: resourceFromAttributes(attributes),
    // Traces only: metrics are prom-client's on the ops port, logs are pino's on stdout. Without
    // these, the SDK would also record the instrumentations' OTel metrics on every request.
    metricReaders: [],
    logRecordProcessors: [],
    spanProcessors: [
      new SpanRedactor(),
      opts.exporter === undefined
        ? new BatchSpanProcessor({ exporter: exporterFromEnv(env) })
        : new SimpleSpanProcessor({ exporter: opts.exporter }),
    ],
    instrumentations: [
      new UndiciInstrumentation(),
      new IORedisInstrumentation({ requireParentSpan: true, dbStatementSerializer: command => command }),
      new KoaInstrumentation({ ignoreLayersType: [KoaLayerType.MIDDLEWARE] }),
    ],
  });
  sdk.start();
  state.tracer = trace.getTracer(TRACER);
  state.stop = () => sdk.shutdown();
  return true;
}
