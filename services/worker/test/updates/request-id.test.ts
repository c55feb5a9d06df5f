import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { requestIdFor } from '../../src/updates/request-id.ts';

describe('requestIdFor', () => {
  it("should use the seed's format telegram-<unix seconds>-<8 hex>", () => {
    const id = requestIdFor('main', 1234, 1_700_000_123_999);
    expect(id).toMatch(/^telegram-1700000123-[0-9a-f]{8}$/);
    const hex = createHash('sha256').update('main:1234').digest('hex').slice(0, 8);
    expect(id).toBe(`telegram-1700000123-${hex}`);
  });

  it('should give a retried job the same id', () => {
    expect(requestIdFor('main', 5, 1_000_000)).toBe(requestIdFor('main', 5, 1_000_000));
  });

  it('should differ between updates and between bots', () => {
    const ids = new Set<string>();
    for (const bot of ['a', 'b']) for (let u = 0; u < 500; u++) ids.add(requestIdFor(bot, u, 0));
    expect(ids.size).toBe(1000);
  });

  it('should stay within the callback key charset for hostile bot names', () => {
    expect(requestIdFor('a:b\n<x>', -1, 0)).toMatch(/^telegram-0-[0-9a-f]{8}$/);
  });
});
