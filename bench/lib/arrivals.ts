// Arrival times of k6's arrival-rate executors, for our own open-loop generator: the same schedule k6
// would follow for a profile's scenario (constant-arrival-rate, or ramping-arrival-rate with linear
// ramps between stage targets), as offsets in ms from the start.

/** The k6 scenario fields this needs (k6/profiles.json). */
export type ArrivalScenario =
  | { executor: 'constant-arrival-rate'; rate: number; timeUnit?: string; duration: string }
  | {
      executor: 'ramping-arrival-rate';
      startRate?: number;
      timeUnit?: string;
      stages: { target: number; duration: string }[];
    };

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A k6 duration string ('10s', '1m30s', '250ms', '4h10m') in ms. */
export function durationMs(text: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map(p => p[0]).join('') !== text) {
    throw new Error(`'${text}' is not a k6 duration`);
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2]!]!, 0);
}

/**
 * Offsets (ms) of every arrival. A ramp from rate r0 to r1 over T has arrivals where the integral of
 * the rate reaches 1, 2, 3, …; solved in closed form per stage.
 */
export function arrivalOffsets(s: ArrivalScenario): number[] {
  const perMs = 1 / durationMs(s.timeUnit ?? '1s');
  const out: number[] = [];
  if (s.executor === 'constant-arrival-rate') {
    const total = Math.round(s.rate * durationMs(s.duration) * perMs);
    for (let i = 0; i < total; i++) out.push(i / (s.rate * perMs));
    return out;
  }
  let t0 = 0;
  let r0 = (s.startRate ?? 0) * perMs;
  let carried = 0; // arrivals owed (fractional) at the start of the stage
  for (const stage of s.stages) {
    const T = durationMs(stage.duration);
    const r1 = stage.target * perMs;
    const a = (r1 - r0) / T; // rate slope per ms
    const area = ((r0 + r1) / 2) * T;
    // Arrival k (0, 1, 2, …) happens where the integral of the rate reaches k: inside this stage,
    // carried + r0*t + a*t²/2 = k.
    for (let k = Math.ceil(carried - 1e-9); k < carried + area - 1e-9; k++) {
      const need = Math.max(0, k - carried);
      const t = a === 0 ? need / r0 : (-r0 + Math.sqrt(Math.max(0, r0 * r0 + 2 * a * need))) / a;
      out.push(t0 + t);
    }
    carried += area;
    t0 += T;
    r0 = r1;
  }
  return out;
}
