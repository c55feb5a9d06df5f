import { describe, expect, it } from 'vitest';
import { normalizeCallback } from '../src/callback-result.ts';

describe('normalizeCallback(body)', () => {
  it.each([
    [true, true],
    ['true', true],
    [1, true],
    ['1', true],
    [false, false],
    ['false', false],
    [0, false],
    ['0', false],
    [null, false],
    [undefined, false],
    ['yes', true],
    ['', false],
    [2, true],
    [{}, true],
  ])('should read success %j as %s (seed rules)', (success, expected) => {
    const out = normalizeCallback({ requestId: 'r', success });
    expect(out.ok && out.result.success).toBe(expected);
  });

  it('should apply the seed defaults', () => {
    expect(normalizeCallback({ request_id: 'r' })).toEqual({
      ok: true,
      result: {
        requestId: 'r',
        success: false,
        iterations: 0,
        maxIterations: 25,
        output: '',
        error: null,
        exitCode: 0,
      },
    });
  });

  it('should prefer camelCase over snake_case, as `a || b` does', () => {
    const out = normalizeCallback({
      requestId: 'camel',
      request_id: 'snake',
      maxIterations: 5,
      max_iterations: 9,
      exitCode: 0,
      exit_code: 3,
      branchName: '',
      branch_name: 'b',
    });
    expect(out).toMatchObject({
      ok: true,
      result: { requestId: 'camel', maxIterations: 5, exitCode: 3, branchName: 'b' },
    });
  });

  it('should ignore keys inherited through __proto__', () => {
    const body = JSON.parse('{"__proto__": {"requestId": "evil"}}') as unknown;
    expect(normalizeCallback(body)).toEqual({ ok: false, error: 'request_id is required' });
  });

  it('should turn non-string output and error into text', () => {
    const out = normalizeCallback({ requestId: 'r', output: { a: 1 }, error: 42 });
    expect(out).toMatchObject({ ok: true, result: { output: '{"a":1}', error: '42' } });
  });
});
