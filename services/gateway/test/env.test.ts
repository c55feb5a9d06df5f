import { describe, expect, it } from 'vitest';
import { ConfigError, describeEnv, loadConfig } from '@telegram-receiver/core';
import { gatewayEnv } from '../src/env.ts';

describe('loadConfig(gatewayEnv, env)', () => {
  it('should apply every default on an empty environment', () => {
    const config = loadConfig(gatewayEnv, {});
    expect(config.PORT).toBe(3000);
    expect(config.OPS_PORT).toBe(9101);
    expect(config.BODY_LIMIT_BYTES).toBe(1_048_576);
    expect(config.REDIS_URL).toBe('redis://127.0.0.1:6379/0');
    expect(config.TELEGRAM_BOT_TOKEN).toBeUndefined();
  });

  it('should treat empty and blank values as unset', () => {
    expect(loadConfig(gatewayEnv, { PORT: '', MAX_BACKLOG: '   ' }).PORT).toBe(3000);
  });

  it('should coerce numbers and strip a trailing slash from URLs', () => {
    const config = loadConfig(gatewayEnv, { PORT: '8080', TELEGRAM_API_URL: 'http://127.0.0.1:3900/' });
    expect(config.PORT).toBe(8080);
    expect(config.TELEGRAM_API_URL).toBe('http://127.0.0.1:3900');
  });

  it('should list every bad value in one ConfigError, one line each', () => {
    let error: unknown;
    try {
      loadConfig(gatewayEnv, {
        PORT: 'abc',
        MAX_BACKLOG: '-1',
        LOG_LEVEL: 'loud',
        TELEGRAM_API_URL: 'ftp://x',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const names = (error as ConfigError).issues.map(i => i.name).sort();
    expect(names).toEqual(['LOG_LEVEL', 'MAX_BACKLOG', 'PORT', 'TELEGRAM_API_URL']);
    expect((error as ConfigError).message).toContain('PORT:');
    expect((error as ConfigError).message).toContain('"abc"');
  });

  it('should reject out-of-range ports and hostile values', () => {
    expect(() => loadConfig(gatewayEnv, { PORT: '70000' })).toThrow(ConfigError);
    expect(() => loadConfig(gatewayEnv, { PORT: '1e3' })).not.toThrow();
    expect(() => loadConfig(gatewayEnv, { PORT: '3000; rm -rf /' })).toThrow(ConfigError);
    expect(() => loadConfig(gatewayEnv, { QUEUE_PREFIX: 'a b' })).toThrow(ConfigError);
    expect(() => loadConfig(gatewayEnv, { REDIS_URL: 'http://x' })).toThrow(ConfigError);
  });

  it('should parse TRUSTED_PROXIES as a list of addresses and CIDR ranges, and refuse anything else', () => {
    expect(loadConfig(gatewayEnv, {}).TRUSTED_PROXIES).toEqual([]);
    expect(
      loadConfig(gatewayEnv, { TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1,fd00::/8' }).TRUSTED_PROXIES,
    ).toEqual(['10.0.0.0/8', '127.0.0.1', 'fd00::/8']);
    for (const bad of ['10.0.0.0/33', 'example.com', '1.2.3.4/8/1', '::1/129', '10.0.0.1/x']) {
      expect(() => loadConfig(gatewayEnv, { TRUSTED_PROXIES: bad }), bad).toThrow(/TRUSTED_PROXIES/);
    }
    expect(() => loadConfig(gatewayEnv, { AUTH_FAILURE_LIMIT: '0' })).toThrow(/AUTH_FAILURE_LIMIT/);
    expect(() => loadConfig(gatewayEnv, { AUTH_FAILURE_WINDOW_SECONDS: '-5' })).toThrow(
      /AUTH_FAILURE_WINDOW_SECONDS/,
    );
  });

  it('should never quote a secret value in the error', () => {
    const secret = 'bad secret with spaces!!';
    try {
      loadConfig(gatewayEnv, { TELEGRAM_WEBHOOK_SECRET: secret, REDIS_URL: 'http://user:hunter2@x' });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toContain('TELEGRAM_WEBHOOK_SECRET');
      expect((err as Error).message).not.toContain(secret);
      expect((err as Error).message).not.toContain('hunter2');
    }
  });
});

describe('describeEnv(shape)', () => {
  it('should document every variable with its default', () => {
    const rows = describeEnv(gatewayEnv);
    expect(rows.find(r => r.name === 'PORT')).toMatchObject({ default: '3000' });
    for (const row of rows) expect(row.doc.length).toBeGreaterThan(5);
  });
});
