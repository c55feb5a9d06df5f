import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SecretRedactor, createLogger } from '../src/index.ts';
import { MAX_REDACTED_SECRETS } from '../src/redact.ts';

describe('SecretRedactor.redact(text)', () => {
  it('should hide bot tokens by shape, inside URLs too', () => {
    const r = new SecretRedactor([]);
    const url = 'https://api.telegram.org/bot123456789:AAH-abcdefghijklmnopqrstuvwxyz012345/sendMessage';
    expect(r.redact(url)).toBe('https://api.telegram.org/bot[REDACTED]/sendMessage');
  });

  it('should hide known secrets by value, longest first', () => {
    const r = new SecretRedactor(['hook-secret-1', 'hook-secret-12', undefined, 'abc']);
    expect(r.redact('a hook-secret-12 b hook-secret-1 c abc')).toBe('a [REDACTED] b [REDACTED] c abc');
  });

  it('should keep at most MAX_REDACTED_SECRETS values, dropping those added first', () => {
    const r = new SecretRedactor(['rotated-away-long-ago']);
    r.add(Array.from({ length: MAX_REDACTED_SECRETS }, (_, i) => `secret-${i}-xyz`));
    expect(r.redact('rotated-away-long-ago')).toBe('rotated-away-long-ago');
    expect(r.redact('secret-0-xyz secret-9999-xyz')).toBe('[REDACTED] [REDACTED]');
  });
});

describe('createLogger(opts)', () => {
  it('should never write a secret, whether in a field, a message or an error', async () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    const logger = createLogger({ service: 't', secrets: ['my-webhook-secret'], destination });
    logger.info({ req: { headers: { 'x-telegram-bot-api-secret-token': 'my-webhook-secret' } } }, 'request');
    logger.error({ err: new Error('failed at /bot123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ/getMe') }, 'call failed');
    logger.warn('secret is my-webhook-secret');
    await new Promise(resolve => setImmediate(resolve));
    const all = lines.join('');
    expect(lines.length).toBe(3);
    expect(all).not.toContain('my-webhook-secret');
    expect(all).not.toContain('ABCDEFGHIJKLMNOPQRSTUVWXYZ');
    expect(all).toContain('[REDACTED]');
  });
});
