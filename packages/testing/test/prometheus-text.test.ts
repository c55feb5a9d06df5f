import { describe, expect, it } from 'vitest';
import { parsePrometheusText } from '../src/prometheus-text.ts';

describe('parsePrometheusText', () => {
  it('should read samples with escaped labels and skip comments and exemplars', () => {
    const text = [
      '# HELP x_total A counter.',
      '# TYPE x_total counter',
      'x_total{route="/a",msg="say \\"hi\\"\\\\n"} 3 # {trace_id="abc"} 1',
      'nodejs_heap_size_used_bytes 1234567',
      'h_bucket{le="+Inf"} 7',
      '# EOF',
    ].join('\n');
    expect(parsePrometheusText(text)).toEqual([
      { name: 'x_total', labels: { route: '/a', msg: 'say "hi"\\n' }, value: 3 },
      { name: 'nodejs_heap_size_used_bytes', labels: {}, value: 1_234_567 },
      { name: 'h_bucket', labels: { le: '+Inf' }, value: 7 },
    ]);
  });

  it('should refuse a line that is not a sample', () => {
    expect(() => parsePrometheusText('{x="1"} 2')).toThrow(/not a sample line/);
  });
});
