// Renders the Grafana dashboards written as code (otel/dashboards/, @grafana/grafana-foundation-sdk)
// to otel/grafana/dashboards/*.json, which Grafana provisions. `make dashboards` writes them; a test
// checks they did not drift, and `make observe-check` runs every PromQL expression against a live stack.
import { format, resolveConfig } from 'prettier';
import { DASHBOARDS } from '../otel/dashboards/index.ts';

const outDir = new URL('../otel/grafana/dashboards/', import.meta.url);

/** File name → the JSON as prettier formats it (so `make lint` and the drift test agree). */
export async function renderDashboards(): Promise<Record<string, string>> {
  const options = (await resolveConfig(new URL('x.json', outDir).pathname)) ?? {};
  const files: Record<string, string> = {};
  for (const [name, build] of Object.entries(DASHBOARDS)) {
    files[name] = await format(JSON.stringify(build().build()), { ...options, parser: 'json' });
  }
  return files;
}

/** Every PromQL expression of every dashboard, with the file it comes from. */
export function dashboardQueries(): { file: string; title: string; expr: string }[] {
  const out: { file: string; title: string; expr: string }[] = [];
  for (const [file, build] of Object.entries(DASHBOARDS)) {
    for (const panel of build().build().panels ?? []) {
      const p = panel as { title?: string; targets?: { expr?: string }[] };
      for (const t of p.targets ?? []) if (t.expr) out.push({ file, title: p.title ?? '', expr: t.expr });
    }
  }
  return out;
}

/** The metric names an expression reads (identifiers followed by `{`, `[` or a `)` of a function argument). */
export function metricNamesOf(expr: string): string[] {
  return [...new Set(expr.match(/\btelegram_receiver_[a-z0-9_]+/g) ?? [])];
}

if (import.meta.main) {
  const { mkdirSync, writeFileSync } = await import('node:fs');
  mkdirSync(outDir, { recursive: true });
  for (const [name, text] of Object.entries(await renderDashboards())) {
    writeFileSync(new URL(name, outDir), text);
  }
}
