/** One sample of a Prometheus / OpenMetrics text exposition. */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

/** Label pairs from just after `{` to the closing `}`; returns the labels and the index after `}`. */
function parseLabels(line: string, from: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = from;
  while (line[i] !== '}') {
    if (line[i] === ',') i++;
    const name = NAME.exec(line.slice(i))?.[0];
    if (name === undefined || line[i + name.length] !== '=' || line[i + name.length + 1] !== '"') {
      throw new Error(`bad label at ${i} in: ${line}`);
    }
    i += name.length + 2;
    let value = '';
    while (line[i] !== '"') {
      if (i >= line.length) throw new Error(`unterminated label value in: ${line}`);
      if (line[i] === '\\') {
        const next = line[i + 1];
        value += next === 'n' ? '\n' : (next ?? '');
        i += 2;
      } else {
        value += line[i];
        i++;
      }
    }
    labels[name] = value;
    i++;
  }
  return { labels, end: i + 1 };
}

/**
 * Every sample of a scrape (text format 0.0.4 or OpenMetrics): comments, `# EOF` and exemplars
 * (`# {trace_id="…"} …` after the value) are skipped.
 */
export function parsePrometheusText(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const name = NAME.exec(line)?.[0];
    if (name === undefined) throw new Error(`not a sample line: ${line}`);
    let rest = name.length;
    let labels: Record<string, string> = {};
    if (line[rest] === '{') ({ labels, end: rest } = parseLabels(line, rest + 1));
    const value = line.slice(rest).trim().split(/\s+/)[0] ?? '';
    samples.push({ name, labels, value: value === '+Inf' ? Infinity : Number(value) });
  }
  return samples;
}
