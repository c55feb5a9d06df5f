/** Percentiles of one phase, in milliseconds. */
export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
}

/**
 * Every sample kept in a growable Float64Array and sorted once at the end: exact percentiles, and a
 * 10 s phase at a few thousand req/s is only a few MB.
 */
export class LatencyRecorder {
  #samples = new Float64Array(16_384);
  #count = 0;

  get count(): number {
    return this.#count;
  }

  record(ms: number): void {
    if (this.#count === this.#samples.length) {
      const bigger = new Float64Array(this.#samples.length * 2);
      bigger.set(this.#samples);
      this.#samples = bigger;
    }
    this.#samples[this.#count++] = ms;
  }

  summary(): LatencySummary {
    const sorted = this.#samples.slice(0, this.#count).sort();
    const n = sorted.length;
    if (n === 0) return { count: 0, mean: 0, p50: 0, p95: 0, p99: 0, p999: 0, max: 0 };
    // Nearest-rank percentile: the smallest sample with at least q of the samples at or below it.
    const at = (q: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
    let sum = 0;
    for (const v of sorted) sum += v;
    return {
      count: n,
      mean: sum / n,
      p50: at(0.5),
      p95: at(0.95),
      p99: at(0.99),
      p999: at(0.999),
      max: sorted[n - 1]!,
    };
  }
}
