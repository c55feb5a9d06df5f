import {
  isJobQueue,
  type OpsListenerOptions,
  type QueueState,
  type QueueStatePoller,
} from '@telegram-receiver/core';
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

/**
 * Dead letters, for alerts and dashboards (Prometheus only: they are no scaling signal), of every
 * queue: the job queues' and the side queue's (`notices`, the worker's still-working checks).
 */
const DEAD_LETTER_METRICS = {
  telegram_receiver_queue_dead_letters: {
    help: 'Items that failed for good, kept for the operator to inspect, replay (not notices) or discard (admin API /admin/dead-letters).',
    value: (s: QueueState) => s.deadLetters,
  },
  telegram_receiver_queue_dead_letter_oldest_age_seconds: {
    help: 'Age of the oldest dead letter, in seconds (0 when none).',
    value: (s: QueueState) => s.deadLetterOldestAgeSeconds,
  },
} as const;
export type QueueMetricName = keyof typeof QUEUE_METRICS;
export const QUEUE_METRIC_NAMES = Object.keys(QUEUE_METRICS) as QueueMetricName[];

/**
 * Registers the queue gauges on `registry`. They are filled at scrape time from the collector's last
 * sample, so a scrape costs no Redis command; when there is no sample young enough, the series are
 * absent (Prometheus then has no value, rather than a stale one dressed as fresh). The age of the
 * last read is exported next to them, however old. The scaling gauges have the job queues' series
 * only; the dead-letter gauges have every queue's.
 */
export function registerQueueGauges(
  registry: OpsListenerOptions['registry'],
  collector: Pick<QueueStatePoller, 'sample' | 'lastReadAgeSeconds'>,
): void {
  const gauges = [
    ...Object.entries(QUEUE_METRICS).map(([name, metric]) => ({ name, metric, scaling: true })),
    ...Object.entries(DEAD_LETTER_METRICS).map(([name, metric]) => ({ name, metric, scaling: false })),
  ];
  for (const { name, metric, scaling } of gauges) {
    new Gauge({
      name,
      help: metric.help,
      labelNames: ['queue'],
      registers: [registry],
      collect() {
        this.reset();
        for (const state of collector.sample()?.states ?? []) {
          if (scaling && !isJobQueue(state.queue)) continue;
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
