import { describe, expect, it } from 'vitest';
import {
  LabelSelectorError,
  matchesLabels,
  parseLabelSelector,
} from '../../src/external-metrics/label-selector.ts';

const select = (selector: string, queue: string | undefined) =>
  matchesLabels(parseLabelSelector(selector), queue === undefined ? {} : { queue });

describe('parseLabelSelector / matchesLabels', () => {
  it('should follow Kubernetes semantics for every operator', () => {
    expect(select('', 'updates')).toBe(true);
    expect(select('queue=updates', 'updates')).toBe(true);
    expect(select('queue==updates', 'callbacks')).toBe(false);
    expect(select('queue!=updates', 'callbacks')).toBe(true);
    expect(select('queue!=updates', undefined)).toBe(true);
    expect(select('queue in (updates, callbacks)', 'callbacks')).toBe(true);
    expect(select('queue notin (updates)', 'updates')).toBe(false);
    expect(select('queue', undefined)).toBe(false);
    expect(select('!queue', undefined)).toBe(true);
    expect(select(' queue = updates , app.kubernetes.io/name ', 'updates')).toBe(false);
    expect(parseLabelSelector('example.com/queue=x')).toEqual([
      { key: 'example.com/queue', op: 'in', values: ['x'] },
    ]);
  });

  it('should refuse malformed, hostile and oversized selectors with a message naming the problem', () => {
    for (const [selector, says] of [
      ['queue in (a,b', 'unbalanced parentheses'],
      ['queue in ((a))', 'unbalanced parentheses'],
      ['queue in ()', 'needs at least one value'],
      ['queue=a b', 'invalid label value "a b"'],
      ['queue=' + 'x'.repeat(64), 'at most 63 characters'],
      ['Bad_Prefix/queue=x', 'invalid label key'],
      ['queue=x,', 'empty requirement'],
      ['queue=<script>', 'invalid label value'],
      ['queue<3', 'not supported'],
      ['queue x y', 'cannot parse'],
      ['q'.repeat(1025), 'longer than 1024'],
    ] as const) {
      expect(() => parseLabelSelector(selector), selector).toThrow(LabelSelectorError);
      expect(() => parseLabelSelector(selector), selector).toThrow(says);
    }
  });
});
