// Building blocks of the dashboards: every panel queries the Prometheus datasource by its fixed uid
// (otel/grafana/provisioning/datasources), with exemplars on, so a latency point leads to its trace.
import { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';

/** The fixed datasource uids the provisioning file declares. */
export const PROMETHEUS = { type: 'prometheus', uid: 'prometheus' };

/** One query of a panel: PromQL and its legend. */
export interface Query {
  expr: string;
  legend: string;
}

function target(q: Query, i: number): DataqueryBuilder {
  return new DataqueryBuilder()
    .datasource(PROMETHEUS)
    .expr(q.expr)
    .legendFormat(q.legend)
    .exemplar(true)
    .refId(String.fromCharCode(65 + i));
}

/** Title, description, datasource, unit, size and queries: what every panel of ours sets. */
function fill<P extends TimeseriesPanel | StatPanel>(
  panel: P,
  title: string,
  unit: string,
  queries: Query[],
  description: string,
  height: number,
): P {
  panel.title(title).description(description).datasource(PROMETHEUS).unit(unit).height(height).span(12);
  queries.forEach((q, i) => panel.withTarget(target(q, i)));
  return panel;
}

/** A time series panel over `queries`. */
export function timeseries(title: string, unit: string, queries: Query[], description = ''): TimeseriesPanel {
  return fill(new TimeseriesPanel().min(0), title, unit, queries, description, 8);
}

/** A single-value panel (last value) over `queries`. */
export function stat(title: string, unit: string, queries: Query[], description = ''): StatPanel {
  return fill(new StatPanel(), title, unit, queries, description, 6);
}

/** A dashboard with the project's common settings. */
export function dashboard(uid: string, title: string): DashboardBuilder {
  return new DashboardBuilder(title)
    .uid(uid)
    .tags(['telegram-receiver', 'generated'])
    .refresh('30s')
    .time({ from: 'now-1h', to: 'now' })
    .timezone('browser')
    .editable();
}

/** `histogram_quantile(q, …)` of a latency histogram, by `by` labels. */
export function quantile(q: number, metric: string, by: string, filter = ''): string {
  return `histogram_quantile(${q}, sum by (le, ${by}) (rate(${metric}_bucket${filter}[$__rate_interval])))`;
}
