import type { OpsListenerOptions, QueueState, QueueStatePoller } from '@telegram-receiver/core';
import { Gauge } from 'prom-client';

/** The scaling metrics: Prometheus names, and the External Metrics API's names too. */
export const QUEUE_METRICS = {
  telegram_receiver_queue_backlog: {
    help: 'Items not yet completed or failed: waiting, prioritized, delayed, parked behind their lane, active.',
    value: (s: QueueState) => s.backlog,
  },
  telegram_receiver_queue_pending_lanes: {
    help: 'Lanes (chats) with at least one unfinished item: the most work that can run in parallel.',
    value: (s: QueueState) => s.pendingLanes,
  },
  telegram_receiver_queue_oldest_age_seconds: {
    help: 'Age of the oldest unfinished item, in seconds (0 when none).',
    value: (s: QueueState) => s.oldestAgeSeconds,
  },
  telegram_receiver_queue_active: {
    help: 'Jobs running now.',
    value: (s: QueueState) => s.active,
  },
} as const;
export type QueueMetricName = keyof typeof QUEUE_METRICS;
export const QUEUE_METRIC_NAMES = Object.keys(QUEUE_METRICS) as QueueMetricName[];

/**
 * Registers the queue gauges on `registry`. They are filled at scrape time from the collector's last
 * sample, so a scrape costs no Redis command; when there is no sample young enough, the series are
 * absent (Prometheus then has no value, rather than a stale one dressed as fresh). The age of the
 * last read is exported next to them, however old.
 */
export function registerQueueGauges(
  registry: OpsListenerOptions['registry'],
  collector: Pick<QueueStatePoller, 'sample' | 'lastReadAgeSeconds'>,
): void {
  for (const name of QUEUE_METRIC_NAMES) {
    const metric = QUEUE_METRICS[name];
    new Gauge({
      name,
      help: metric.help,
      labelNames: ['queue'],
      registers: [registry],
      collect() {
        this.reset();
        for (const state of collector.sample()?.states ?? []) {
          this.set({ queue: state.queue }, metric.value(state));
        }
      },
    });
  }
  new Gauge({
    name: 'telegram_receiver_queue_sample_age_seconds',
    help: 'Seconds since the queues were last read from Redis (NaN before the first read); alert on it.',
    registers: [registry],
    collect() {
      this.set(collector.lastReadAgeSeconds() ?? Number.NaN);
    },
  });
}
