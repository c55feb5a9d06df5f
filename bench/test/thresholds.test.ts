import { describe, expect, it } from 'vitest';
import { evaluate, evaluateAll, UnsupportedThresholdError, type MetricValues } from '../lib/thresholds.ts';

const trend: MetricValues = {
  kind: 'trend',
  avg: 20,
  min: 1,
  med: 15,
  max: 300,
  percentiles: { 95: 120, 99: 250 },
};
const rate: MetricValues = { kind: 'rate', rate: 0.005 };

describe('evaluate', () => {
  it('should compare a percentile, an aggregate and a rate the way k6 does', () => {
    expect(evaluate('d', 'p(95)<200', trend)).toEqual({
      metric: 'd',
      expression: 'p(95)<200',
      ok: true,
      actual: 120,
    });
    expect(evaluate('d', 'p(95)<50', trend).ok).toBe(false);
    expect(evaluate('d', 'avg <= 20', trend).ok).toBe(true);
    expect(evaluate('d', 'max<300', trend).ok).toBe(false);
    expect(evaluate('f', 'rate<0.01', rate).ok).toBe(true);
    expect(evaluate('f', 'rate==1', rate).ok).toBe(false);
  });

  it('should refuse what it cannot evaluate instead of passing it', () => {
    expect(() => evaluate('d', 'p(90)<100', trend)).toThrow(UnsupportedThresholdError);
    expect(() => evaluate('d', 'rate<1', trend)).toThrow(/is a Trend/);
    expect(() => evaluate('f', 'p(95)<1', rate)).toThrow(/is a Rate/);
    expect(() => evaluate('d', 'count>1', trend)).toThrow(/does not understand|not a threshold/);
  });
});

describe('evaluateAll', () => {
  it('should list the metrics it did not measure', () => {
    const { outcomes, notMeasured } = evaluateAll(
      { d: ['p(95)<200', 'p(99)<200'], 'checks{scenario:health}': ['rate==1'] },
      { d: trend },
    );
    expect(outcomes.map(o => o.ok)).toEqual([true, false]);
    expect(notMeasured).toEqual(['checks{scenario:health}']);
  });
});
