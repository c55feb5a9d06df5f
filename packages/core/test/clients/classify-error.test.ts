import { describe, expect, it } from 'vitest';
import {
  ApiRejectedError,
  classifyCallError,
  isRetryable,
  parseRetryAfter,
  SecretRedactor,
  UpstreamUnreachableError,
} from '@telegram-receiver/core';

const TOKEN = '123456789:AAHsecret-token_value-abcdefghijklmnop';
const ctx = { service: 'telegram', method: 'sendMessage', redactor: new SecretRedactor([TOKEN]) };
const withCode = (code: string, message = code, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(message), { code, ...extra });

describe('classifyCallError(err, ctx, deadlineHit)', () => {
  it.each([
    ['ECONNREFUSED', 'connect'],
    ['ENOTFOUND', 'connect'],
    ['EHOSTUNREACH', 'connect'],
    ['UND_ERR_CONNECT_TIMEOUT', 'connect'],
    ['UND_ERR_HEADERS_TIMEOUT', 'timeout'],
    ['UND_ERR_BODY_TIMEOUT', 'timeout'],
    ['ECONNRESET', 'reset'],
    ['EPIPE', 'reset'],
    ['UND_ERR_SOCKET', 'reset'],
  ])('should map %s to phase %s', (code, phase) => {
    const err = classifyCallError(withCode(code), ctx);
    expect(err).toBeInstanceOf(UpstreamUnreachableError);
    expect(err).toMatchObject({ service: 'telegram', method: 'sendMessage', phase });
  });

  it('should call any failure a timeout when our own deadline aborted the call', () => {
    expect(classifyCallError(withCode('ECONNRESET'), ctx, true)).toMatchObject({ phase: 'timeout' });
  });

  it('should look into AggregateError members and cause chains', () => {
    const happyEyeballs = new AggregateError(
      [withCode('ECONNREFUSED'), withCode('ECONNREFUSED')],
      'connect failed',
    );
    expect(classifyCallError(happyEyeballs, ctx)).toMatchObject({ phase: 'connect' });
    const wrapped = new TypeError('fetch failed', {
      cause: withCode('ETIMEDOUT', 'x', { syscall: 'connect' }),
    });
    expect(classifyCallError(wrapped, ctx)).toMatchObject({ phase: 'connect' });
  });

  it('should return errors that are not network failures unchanged', () => {
    const bug = new TypeError('x is not a function');
    expect(classifyCallError(bug, ctx)).toBe(bug);
    const invalid = withCode('UND_ERR_INVALID_ARG');
    expect(classifyCallError(invalid, ctx)).toBe(invalid);
    const typed = new ApiRejectedError({ service: 's', method: 'm', status: 400, description: 'd' });
    expect(classifyCallError(typed, ctx)).toBe(typed);
  });

  it('should keep a scrubbed cause and never the token', () => {
    const err = classifyCallError(withCode('ECONNRESET', `socket hang up for /bot${TOKEN}/sendMessage`), ctx);
    const cause = err.cause as Error & { code?: string };
    expect(cause.code).toBe('ECONNRESET');
    expect(cause.message).toContain('[REDACTED]');
    expect(`${String(err)} ${err.stack ?? ''} ${cause.message} ${cause.stack ?? ''}`).not.toContain(
      'AAHsecret',
    );
  });
});

describe('parseRetryAfter(value)', () => {
  it('should read delta-seconds and HTTP dates and ignore garbage', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe('isRetryable(err, kind, maxInline)', () => {
  const rejected = (status: number, extra: { ambiguous?: boolean; retryAfter?: number } = {}) =>
    new ApiRejectedError({ service: 'telegram', method: 'm', status, description: 'd', ...extra });
  const unreachable = (phase: 'connect' | 'timeout' | 'reset') =>
    new UpstreamUnreachableError({ service: 'telegram', method: 'm', phase });

  it.each([
    ['connect', unreachable('connect'), true, true],
    ['timeout', unreachable('timeout'), true, false],
    ['reset', unreachable('reset'), true, false],
    ['429', rejected(429, { retryAfter: 1 }), true, true],
    ['429 over the inline limit', rejected(429, { retryAfter: 6 }), false, false],
    ['JSON 500', rejected(500), true, true],
    ['HTML 502', rejected(502, { ambiguous: true }), true, false],
    ['400', rejected(400), false, false],
    ['a bug', new TypeError('x'), false, false],
  ])('should decide whether to retry after %s per call kind', (_name, err, idempotent, effectOnce) => {
    expect(isRetryable(err, 'idempotent', 5)).toBe(idempotent);
    expect(isRetryable(err, 'effect-once', 5)).toBe(effectOnce);
  });
});
