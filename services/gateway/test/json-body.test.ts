import { describe, expect, it } from 'vitest';
import { exceedsDepth } from '../src/middleware/json-body.ts';

const bytes = (s: string) => Buffer.from(s);

describe('exceedsDepth(raw, max)', () => {
  it('should count nested arrays and objects', () => {
    const nested = `${'['.repeat(200)}${']'.repeat(200)}`;
    expect(exceedsDepth(bytes(nested), 199)).toBe(true);
    expect(exceedsDepth(bytes(nested), 200)).toBe(false);
  });

  it('should ignore brackets inside strings, including escaped quotes', () => {
    const text = JSON.stringify({ s: `\\"${'['.repeat(500)}\\"`, t: '{'.repeat(500) });
    expect(exceedsDepth(bytes(text), 2)).toBe(false);
  });

  it('should treat sibling containers as the same depth', () => {
    const text = `[${Array.from({ length: 300 }, () => '{"a":[1]}').join(',')}]`;
    expect(exceedsDepth(bytes(text), 3)).toBe(false);
    expect(exceedsDepth(bytes(text), 2)).toBe(true);
  });
});
