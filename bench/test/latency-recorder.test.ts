import { describe, expect, it } from 'vitest';
import { LatencyRecorder } from '../lib/latency-recorder.ts';

describe('LatencyRecorder.summary', () => {
  it('should give nearest-rank percentiles', () => {
    const rec = new LatencyRecorder();
    for (let v = 100; v >= 1; v--) rec.record(v);
    expect(rec.summary()).toEqual({ count: 100, mean: 50.5, p50: 50, p95: 95, p99: 99, p999: 100, max: 100 });
  });

  it('should report zeros when nothing was recorded', () => {
    expect(new LatencyRecorder().summary()).toEqual({
      count: 0,
      mean: 0,
      p50: 0,
      p95: 0,
      p99: 0,
      p999: 0,
      max: 0,
    });
  });

  it('should keep every sample past its initial capacity', () => {
    const rec = new LatencyRecorder();
    for (let i = 0; i < 100_000; i++) rec.record(i % 1000);
    rec.record(5000);
    const s = rec.summary();
    expect(s.count).toBe(100_001);
    expect(s.max).toBe(5000);
    expect(s.p50).toBe(500);
  });
});
