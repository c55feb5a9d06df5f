import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dashboardQueries, metricNamesOf, renderDashboards } from '../dashboards.ts';
import { serviceRegistries } from './service-registries.ts';

/** Every metric name the services export (base names: no _bucket/_count/_sum). */
function exportedNames(): Set<string> {
  return new Set(
    Object.values(serviceRegistries())
      .flatMap(registry => registry.getMetricsAsArray())
      .map(m => (m as { name: string }).name),
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
