import { trace } from '@opentelemetry/api';
import { Registry, type Histogram, type LabelValues, type OpenMetricsContentType } from 'prom-client';

/** Every metric of this project is named `telegram_receiver_…` (Prometheus' naming rules). */
export const METRIC_PREFIX = 'telegram_receiver_';

/**
 * A registry for a service's ops port, in the OpenMetrics format: the only one prom-client writes
 * exemplars in (trace ids on the latency histograms, so a slow bucket leads to a trace).
 */
export function createMetricsRegistry(): MetricsRegistry {
  const registry = new Registry<OpenMetricsContentType>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  return registry;
}

/** The registry of a service's ops port (see {@link createMetricsRegistry}). */
export type MetricsRegistry = Registry<OpenMetricsContentType>;

/**
 * The active sampled span as exemplar labels (`trace_id`, `span_id`), or undefined. prom-client
 * types exemplar labels as the metric's own labels; they are free-form in OpenMetrics.
 */
export function activeExemplar<L extends string>(): LabelValues<L> | undefined {
  const span = trace.getActiveSpan()?.spanContext();
  if (span === undefined || (span.traceFlags & 1) === 0) return undefined;
  return { trace_id: span.traceId, span_id: span.spanId } as LabelValues<L>;
}

/**
 * Observe `value`, with the active span's trace id as the exemplar when there is a sampled span.
 * Without one (tracing off), the cached label child is used: no extra cost on the hot path.
 */
export function observeWithExemplar<L extends string>(
  histogram: Histogram<L>,
  child: Histogram.Internal<L>,
  labels: LabelValues<L>,
  value: number,
): void {
  const exemplarLabels = activeExemplar<L>();
  if (exemplarLabels === undefined) child.observe(value);
  else histogram.observe({ labels, value, exemplarLabels });
}
