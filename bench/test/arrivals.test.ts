import { describe, expect, it } from 'vitest';
import { arrivalOffsets, durationMs } from '../lib/arrivals.ts';

describe('durationMs', () => {
  it('should read k6 durations', () => {
    expect(durationMs('10s')).toBe(10_000);
    expect(durationMs('1m30s')).toBe(90_000);
    expect(durationMs('250ms')).toBe(250);
    expect(durationMs('4h10m')).toBe(15_000_000);
  });

  it('should refuse what is not a duration', () => {
    expect(() => durationMs('10')).toThrow(/not a k6 duration/);
    expect(() => durationMs('10s; rm')).toThrow(/not a k6 duration/);
  });
});

describe('arrivalOffsets', () => {
  it('should space a constant rate evenly from the start', () => {
    const at = arrivalOffsets({
      executor: 'constant-arrival-rate',
      rate: 20,
      timeUnit: '1s',
      duration: '10s',
    });
    expect(at).toHaveLength(200);
    expect(at[0]).toBe(0);
    expect(at[1]).toBeCloseTo(50);
    expect(at[199]).toBeCloseTo(9950);
  });

  it('should honour timeUnit', () => {
    expect(
      arrivalOffsets({ executor: 'constant-arrival-rate', rate: 1, timeUnit: '10s', duration: '1m' }),
    ).toHaveLength(6);
  });

  it('should ramp linearly: as many arrivals as the area under the rate, denser as the rate rises', () => {
    const at = arrivalOffsets({
      executor: 'ramping-arrival-rate',
      startRate: 0,
      timeUnit: '1s',
      stages: [
        { target: 100, duration: '2s' },
        { target: 100, duration: '1s' },
        { target: 0, duration: '1s' },
      ],
    });
    expect(at.length).toBe(100 + 100 + 50);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    // Half the ramp's arrivals come in its last ~29 % (the rate doubles over it): 25 of 100 in the first second.
    expect(at.filter(t => t < 1000)).toHaveLength(25);
    expect(at.filter(t => t >= 2000 && t < 3000)).toHaveLength(100);
  });
});
