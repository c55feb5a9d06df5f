// The metrics registries of the three services, built as each service builds its own (without
// prom-client's default Node metrics, which install process hooks): for the tests that check the
// names the services export (dashboards, one meaning per name).
import {
  BotRegistry,
  createLogger,
  createMetricsRegistry,
  registerClientMetrics,
  type MetricsRegistry,
} from '@telegram-receiver/core';
import { GatewayMetrics } from '@telegram-receiver/gateway/metrics';
import { WebhookInfoPoller } from '@telegram-receiver/gateway/webhook-info-poller';
import { registerQueueGauges } from '@telegram-receiver/metrics/queue-gauges';
import { WorkerMetrics } from '@telegram-receiver/worker/metrics';
import type { Redis } from 'ioredis';

/** One registry per service, with every metric the service registers. */
export function serviceRegistries(): Record<'gateway' | 'worker' | 'metrics', MetricsRegistry> {
  const gateway = createMetricsRegistry();
  new GatewayMetrics({ registry: gateway });
  new WebhookInfoPoller({
    bots: new BotRegistry([]),
    telegram: { get: () => ({ getWebhookInfo: () => Promise.reject(new Error('unused')) }) },
    redis: {} as Redis,
    prefix: 'x',
    registry: gateway,
    logger: createLogger({ service: 'test', level: 'silent' }),
    intervalMs: 1000,
    holder: 'test',
  });
  const worker = new WorkerMetrics({ defaultMetrics: false }).registry;
  registerClientMetrics(worker);
  const metrics = createMetricsRegistry();
  registerQueueGauges(metrics, { sample: () => undefined, lastReadAgeSeconds: () => undefined });
  return { gateway, worker, metrics };
}
