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
  type Context,
  type Span,
} from '@opentelemetry/api';
import { BullMQOtel } from 'bullmq-otel';
import { TRACER, projectTracer, tracingEnabled } from './tracing-state.ts';

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

/** Whether `span` is sampled (recorded and exported). */
function isSampled(span: Span | undefined): span is Span {
  return span !== undefined && (span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0;
}

/** Whether the global propagator is the default one (W3C trace context and baggage). */
let defaultPropagator: boolean | undefined;

/** A span's trace as BullMQ stores it (`tm`): the propagator's headers as JSON. */
function carrierOf(span: Span): string {
  const { traceId, spanId, traceFlags, traceState } = span.spanContext();
  defaultPropagator ??= propagation.fields().join() === 'traceparent,tracestate,baggage';
  // What the W3C propagator writes for a span with no trace state and no baggage (ours never
  // carry either), without its per-call work: this runs for every webhook request.
  if (defaultPropagator && traceState === undefined) {
    return `{"traceparent":"00-${traceId}-${spanId}-0${traceFlags & TraceFlags.SAMPLED}"}`;
  }
  const carrier: Record<string, string> = {};
  propagation.inject(trace.setSpan(ROOT_CONTEXT, span), carrier);
  return JSON.stringify(carrier);
}

/** The context a carrier ({@link traceCarrier}) names, or undefined when it is missing or damaged. */
function contextOf(carrier: string | undefined): Context | undefined {
  if (carrier === undefined) return undefined;
  try {
    const ctx = propagation.extract(ROOT_CONTEXT, JSON.parse(carrier) as Record<string, string>);
    return trace.getSpan(ctx) === undefined ? undefined : ctx;
  } catch {
    // A damaged carrier only loses the link between the traces.
    return undefined;
  }
}

/**
 * The trace context of `span` (the active span when omitted) as BullMQ stores it (`tm`), or
 * undefined when nothing is traced. An unsampled context travels too, so the next hop keeps the
 * sampling decision.
 */
export function traceCarrier(span: Span | undefined = trace.getActiveSpan()): string | undefined {
  if (!tracingEnabled() || span === undefined) return undefined;
  return carrierOf(span);
}

/** A chat id as traces may show it: a short one-way hash, stable across services. */
export function hashChatId(chatId: number | string): string {
  return createHash('sha256').update(String(chatId)).digest('hex').slice(0, 16);
}

/** Whether there is an active span that records (tracing on and this request sampled). */
export function recordingSpan(): boolean {
  return trace.getActiveSpan()?.isRecording() === true;
}

/** Set attributes on `span` (the active span when omitted), if it records (a no-op when tracing is off). */
export function annotateActiveSpan(
  attributes: Attributes,
  name?: string,
  span: Span | undefined = trace.getActiveSpan(),
): void {
  if (span === undefined || !span.isRecording()) return;
  span.setAttributes(attributes);
  if (name !== undefined) span.updateName(name);
}

/** Run `fn` with `span` active (one context switch), record its error, and end the span. */
async function runInSpan<T>(span: Span, parent: Context, fn: (span: Span) => Promise<T>): Promise<T> {
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
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
  const tracer = projectTracer();
  if (tracer === undefined) return await fn(undefined);
  const parent = context.active();
  const span = tracer.startSpan(name, { kind, attributes }, parent);
  return await runInSpan(span, parent, fn);
}

/**
 * A SERVER span that `fn` runs in, for a request that does not go through a generic http
 * instrumentation (there is none: node:http's costs as much as the webhook's handler). A root
 * span unless `parent` (e.g. a `traceparent` header extracted) says otherwise. When the sampler
 * says no, `fn` still receives the span (its context travels on, {@link traceCarrier}) but runs
 * without a context switch, so nothing downstream (ioredis, koa, exemplars, log fields) does any
 * tracing work for it.
 */
export async function inServerSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span | undefined) => Promise<T>,
  parent: Context = ROOT_CONTEXT,
): Promise<T> {
  const tracer = projectTracer();
  if (tracer === undefined) return await fn(undefined);
  // The attributes are set once sampled: the SDK would clean them even for a span it drops.
  const span = tracer.startSpan(name, { kind: SpanKind.SERVER }, parent);
  // A non-recording span needs no end and no status.
  if (!span.isRecording()) return await fn(span);
  span.setAttributes(attributes);
  return await runInSpan(span, parent, fn);
}

/** Options of {@link inProducerSpan}. */
export interface ProducerSpanOptions {
  /** The span the write belongs to. @defaultValue the active span */
  parent?: Span | undefined;
  /**
   * A trace to continue instead (a carrier, {@link traceCarrier}): the producer span becomes its
   * child and links to `parent`. When missing or damaged, `parent` is the parent.
   */
  continues?: string | undefined;
}

/**
 * A PRODUCER span named as BullMQ's own (`add <queue>.<job>`) around a write that bypasses
 * `Queue.add`; `fn` receives the context to store in the job (`tm`) so the consumer continues the
 * trace. Under an unsampled parent no span is opened and there is no context switch; the parent's
 * context still travels, so the consumer keeps the decision.
 */
export async function inProducerSpan<T>(
  queue: string,
  jobName: string,
  fn: (carrier: string | undefined) => Promise<T>,
  opts: ProducerSpanOptions = {},
): Promise<T> {
  const tracer = projectTracer();
  if (tracer === undefined) return await fn(undefined);
  const from = opts.parent ?? trace.getActiveSpan();
  const continued = contextOf(opts.continues);
  const parentSpan = continued === undefined ? from : trace.getSpan(continued);
  if (!isSampled(parentSpan)) return await fn(traceCarrier(parentSpan));
  const parent = continued ?? trace.setSpan(context.active(), parentSpan);
  const link = continued !== undefined && from !== undefined ? [{ context: from.spanContext() }] : [];
  const span = tracer.startSpan(
    `add ${queue}.${jobName}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'bullmq.queue.name': queue,
        'bullmq.queue.operation': 'add',
        'bullmq.job.name': jobName,
      },
      links: link,
    },
    parent,
  );
  return await runInSpan(span, parent, async s => await fn(traceCarrier(s)));
}

/**
 * Continue the trace stored in `carrier` (e.g. a cursor-runner callback's state): `fn` runs in a
 * span that is a child of that trace and links to the span active now (the job that carries on).
 * When the active span is already in that trace (the callback job carried the context), or there is
 * no carrier, a plain child span of the active one.
 */
export async function inTraceOf<T>(
  carrier: string | undefined,
  name: string,
  fn: () => Promise<T>,
): Promise<T> {
  const tracer = projectTracer();
  if (tracer === undefined) return await fn();
  const current = trace.getActiveSpan()?.spanContext();
  const stored = contextOf(carrier);
  const storedTrace = stored === undefined ? undefined : trace.getSpanContext(stored)?.traceId;
  if (stored === undefined || storedTrace === current?.traceId) return await inSpan(name, {}, fn);
  const span = tracer.startSpan(name, { links: current === undefined ? [] : [{ context: current }] }, stored);
  return await runInSpan(span, stored, fn);
}

/**
 * Link the active span, if it records, to the span `carrier` names (e.g. a job's previous attempt,
 * so a trace shows the retry chain). Returns whether a link was added.
 */
export function linkActiveSpan(carrier: string | undefined, attributes: Attributes = {}): boolean {
  const span = trace.getActiveSpan();
  const ctx = contextOf(carrier);
  const linked = ctx === undefined ? undefined : trace.getSpanContext(ctx);
  if (span === undefined || !span.isRecording() || linked === undefined) return false;
  span.addLink({ context: linked, attributes });
  return true;
}

/**
 * Record a wait that is already over, from `startMs` to `endMs` (epoch ms), as a span of its own
 * (e.g. the time a job sat parked behind its chat's earlier items): a child of the span `carrier`
 * names (the job's producer) when there is one, else of the active span. It follows its parent's
 * sampling decision, so an unsampled trace records nothing.
 */
export function recordPastSpan(
  name: string,
  attributes: Attributes,
  startMs: number,
  endMs: number,
  carrier?: string,
): void {
  const tracer = projectTracer();
  if (tracer === undefined) return;
  const parent = contextOf(carrier) ?? context.active();
  tracer.startSpan(name, { attributes, startTime: startMs }, parent).end(Math.max(startMs, endMs));
}
