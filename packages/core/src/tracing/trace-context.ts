import { createHash } from 'node:crypto';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  context,
  propagation,
  trace,
  type Attributes,
  type Span,
} from '@opentelemetry/api';
import { BullMQOtel } from 'bullmq-otel';
import { tracingEnabled } from './tracing-state.ts';

/** The tracer of this project's own spans (the instrumentations have theirs). */
const TRACER = 'telegram-receiver';

let telemetry: BullMQOtel | undefined;

/**
 * BullMQ's telemetry (`bullmq-otel`) for Queues and Workers when tracing is on, else undefined (no
 * cost at all). Producers then store the trace context in the job (`opts.telemetry.metadata`), and
 * workers open one consumer span per attempt under it.
 */
export function bullmqTelemetry(): BullMQOtel | undefined {
  if (!tracingEnabled()) return undefined;
  telemetry ??= new BullMQOtel({ tracerName: TRACER });
  return telemetry;
}

/** Whether the active span is sampled (recorded and exported). */
function isSampled(): boolean {
  const span = trace.getActiveSpan();
  return span !== undefined && (span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0;
}

/**
 * The active trace context as BullMQ stores it (`tm`), or undefined when nothing is traced. An
 * unsampled context travels too, so the next hop keeps the sampling decision.
 */
export function traceCarrier(): string | undefined {
  if (!tracingEnabled() || trace.getActiveSpan() === undefined) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return JSON.stringify(carrier);
}

/** A chat id as traces may show it: a short one-way hash, stable across services. */
export function hashChatId(chatId: number | string): string {
  return createHash('sha256').update(String(chatId)).digest('hex').slice(0, 16);
}

/** Whether there is an active span that records (tracing on and this request sampled). */
export function recordingSpan(): boolean {
  return trace.getActiveSpan()?.isRecording() === true;
}

/** Set attributes on the active span, if any (a no-op when tracing is off). */
export function annotateActiveSpan(attributes: Attributes, name?: string): void {
  const span = trace.getActiveSpan();
  if (span === undefined || !span.isRecording()) return;
  span.setAttributes(attributes);
  if (name !== undefined) span.updateName(name);
}

async function runInSpan<T>(span: Span, fn: (span: Span) => Promise<T>): Promise<T> {
  try {
    return await context.with(trace.setSpan(context.active(), span), () => fn(span));
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw err;
  } finally {
    span.end();
  }
}

/**
 * Run `fn` in a span of its own (`kind` INTERNAL unless given), child of the active span. When
 * tracing is off `fn` runs as is.
 */
export async function inSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span | undefined) => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  if (!tracingEnabled()) return await fn(undefined);
  const span = trace.getTracer(TRACER).startSpan(name, { kind, attributes });
  return await runInSpan(span, fn);
}

/**
 * A SERVER span that `fn` runs in, for a route that traces itself instead of going through the
 * generic http instrumentation (the webhook's hot path: that instrumentation's per-request work
 * costs as much as the handler). A root span: Telegram sends no trace context.
 */
export async function inServerSpan(
  name: string,
  attributes: Attributes,
  fn: (span: Span | undefined) => Promise<void>,
): Promise<void> {
  if (!tracingEnabled()) return await fn(undefined);
  const span = trace.getTracer(TRACER).startSpan(name, { kind: SpanKind.SERVER, attributes }, ROOT_CONTEXT);
  await context.with(trace.setSpan(ROOT_CONTEXT, span), () => runInSpan(span, fn));
}

/**
 * A PRODUCER span named as BullMQ's own (`add <queue>.<job>`) around a write that bypasses
 * `Queue.add`; `fn` receives the context to store in the job so the consumer continues the trace.
 */
export async function inProducerSpan<T>(
  queue: string,
  jobName: string,
  fn: (carrier: string | undefined) => Promise<T>,
): Promise<T> {
  if (!tracingEnabled()) return await fn(undefined);
  // Not sampled: no span, but the context still travels so the consumer keeps the decision.
  if (!isSampled()) return await fn(traceCarrier());
  const attributes = {
    'bullmq.queue.name': queue,
    'bullmq.queue.operation': 'add',
    'bullmq.job.name': jobName,
  };
  return await inSpan(
    `add ${queue}.${jobName}`,
    attributes,
    async () => await fn(traceCarrier()),
    SpanKind.PRODUCER,
  );
}

/**
 * Continue the trace stored in `carrier` (e.g. a cursor-runner callback's state): `fn` runs in a
 * span that is a child of that trace and links to the span active now (the job that carries on).
 * Without a carrier, a plain child span of the active one.
 */
export async function inTraceOf<T>(
  carrier: string | undefined,
  name: string,
  fn: () => Promise<T>,
): Promise<T> {
  if (!tracingEnabled()) return await fn();
  const current = trace.getActiveSpan()?.spanContext();
  let parent = context.active();
  if (carrier !== undefined) {
    try {
      parent = propagation.extract(context.active(), JSON.parse(carrier) as Record<string, string>);
    } catch {
      // A damaged carrier only loses the link between the traces.
    }
  }
  const span = trace
    .getTracer(TRACER)
    .startSpan(name, { links: current === undefined ? [] : [{ context: current }] }, parent);
  return await context.with(trace.setSpan(parent, span), () => runInSpan(span, fn));
}
