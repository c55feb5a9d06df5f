// k6's threshold expressions ('p(95)<200', 'rate<0.01', 'avg<=50', …) evaluated on our own generator's
// numbers, so `make load-smoke` and k6 enforce the very same k6/profiles.json. Only what a Trend or a
// Rate offers in k6 is understood; anything else is refused rather than silently passed.

/** The numbers one metric has: a Trend's statistics (ms) or a Rate's ratio. */
export type MetricValues =
  | {
      kind: 'trend';
      avg?: number;
      min?: number;
      med?: number;
      max?: number;
      percentiles: Record<number, number>;
    }
  | { kind: 'rate'; rate: number };

/** One threshold expression checked. */
export interface ThresholdOutcome {
  metric: string;
  expression: string;
  ok: boolean;
  /** The measured value the expression compared. */
  actual: number;
}

/** A threshold this generator cannot evaluate (unknown aggregation, or a percentile it does not keep). */
export class UnsupportedThresholdError extends Error {
  override name = 'UnsupportedThresholdError';
}

const EXPRESSION =
  /^\s*(avg|min|max|med|rate|p\((\d+(?:\.\d+)?)\))\s*(<=|>=|==|!=|<|>|===)\s*(-?\d+(?:\.\d+)?)\s*$/;

const compare: Record<string, (a: number, b: number) => boolean> = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
  '==': (a, b) => a === b,
  '===': (a, b) => a === b,
  '!=': (a, b) => a !== b,
};

/** Evaluate one expression against one metric's values. */
export function evaluate(metric: string, expression: string, values: MetricValues): ThresholdOutcome {
  const m = EXPRESSION.exec(expression);
  if (!m) {
    throw new UnsupportedThresholdError(
      `${metric}: '${expression}' is not a threshold expression this generator understands`,
    );
  }
  const [, aggregation, percentile, op, bound] = m as unknown as [
    string,
    string,
    string | undefined,
    string,
    string,
  ];
  let actual: number | undefined;
  if (values.kind === 'rate') {
    if (aggregation !== 'rate') {
      throw new UnsupportedThresholdError(`${metric} is a Rate: only 'rate' applies, not '${aggregation}'`);
    }
    actual = values.rate;
  } else if (percentile !== undefined) {
    actual = values.percentiles[Number(percentile)];
    if (actual === undefined) {
      throw new UnsupportedThresholdError(
        `${metric}: p(${percentile}) is not kept (kept: ${Object.keys(values.percentiles).join(', ')})`,
      );
    }
  } else if (aggregation === 'rate') {
    throw new UnsupportedThresholdError(`${metric} is a Trend: 'rate' does not apply`);
  } else {
    actual = values[aggregation as 'avg' | 'min' | 'med' | 'max'];
    if (actual === undefined) throw new UnsupportedThresholdError(`${metric}: '${aggregation}' is not kept`);
  }
  return { metric, expression, ok: compare[op]!(actual, Number(bound)), actual };
}

/**
 * Evaluate every threshold of a profile whose metric we measured. Returns the outcomes and the metric
 * keys we did not measure (k6-only scenarios), so the caller can say so instead of passing them.
 */
export function evaluateAll(
  thresholds: Record<string, string[]>,
  measured: Record<string, MetricValues>,
): { outcomes: ThresholdOutcome[]; notMeasured: string[] } {
  const outcomes: ThresholdOutcome[] = [];
  const notMeasured: string[] = [];
  for (const [metric, expressions] of Object.entries(thresholds)) {
    const values = measured[metric];
    if (values === undefined) {
      notMeasured.push(metric);
      continue;
    }
    for (const expression of expressions) outcomes.push(evaluate(metric, expression, values));
  }
  return { outcomes, notMeasured };
}
