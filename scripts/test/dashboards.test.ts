import { readFileSync } from 'node:fs';
import {
  createLogger,
  createMetricsRegistry,
  registerClientMetrics,
  BotRegistry,
} from '@telegram-receiver/core';
import { GatewayMetrics } from '@telegram-receiver/gateway/metrics';
import { WebhookInfoPoller } from '@telegram-receiver/gateway/webhook-info-poller';
import { WorkerMetrics } from '@telegram-receiver/worker/metrics';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { dashboardQueries, metricNamesOf, renderDashboards } from '../dashboards.ts';

/** Every metric name the services export (base names: no _bucket/_count/_sum). */
function exportedNames(): Set<string> {
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
  return new Set(
    [...gateway.getMetricsAsArray(), ...worker.getMetricsAsArray()].map(m => (m as { name: string }).name),
  );
}

describe('otel/grafana/dashboards', () => {
  it('should match the dashboards written as code (run `make dashboards` after changing them)', async () => {
    for (const [name, text] of Object.entries(await renderDashboards())) {
      expect(
        readFileSync(new URL(`../../otel/grafana/dashboards/${name}`, import.meta.url), 'utf8'),
        name,
      ).toBe(text);
    }
  });

  it('should only use metric names some service exports', () => {
    const exported = exportedNames();
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThan(15);
    for (const q of queries) {
      for (const name of metricNamesOf(q.expr)) {
        expect(exported, `${q.file} / ${q.title}: ${name}`).toContain(
          name.replace(/_(bucket|count|sum)$/, ''),
        );
      }
    }
  });
});
