import { describe, expect, it } from 'vitest';
import { commonEnv, envSecretList, loadConfig } from '../src/config.ts';
import { secretsOf } from '../src/service/run-service.ts';

describe('envSecretList', () => {
  const shape = { S: envSecretList() };

  it('should read one secret, or a comma-separated rotation list in order, without blanks or repeats', () => {
    expect(loadConfig(shape, { S: 'only' }).S).toEqual(['only']);
    expect(loadConfig(shape, { S: ' new , old ,,new' }).S).toEqual(['new', 'old']);
  });

  it('should be undefined when unset, blank or only commas', () => {
    expect(loadConfig(shape, {}).S).toBeUndefined();
    expect(loadConfig(shape, { S: '   ' }).S).toBeUndefined();
    expect(loadConfig(shape, { S: ' , ,' }).S).toBeUndefined();
  });
});

describe('secretsOf', () => {
  it('should list each value of a rotation list on its own, so each is scrubbed from logs', () => {
    const config = loadConfig(commonEnv, { WEBHOOK_SECRET: 'rot-new-1,rot-old-2' });
    expect(secretsOf(config)).toEqual(expect.arrayContaining(['rot-new-1', 'rot-old-2']));
    expect(secretsOf(config)).not.toContain('rot-new-1,rot-old-2');
  });
});

describe('REDIS_SENTINELS', () => {
  it('should read host:port pairs, IPv6 in brackets, and nothing when unset', () => {
    expect(loadConfig(commonEnv, {}).REDIS_SENTINELS).toBeUndefined();
    expect(
      loadConfig(commonEnv, { REDIS_SENTINELS: 's1.redis:26379, 10.0.0.2:26380,[::1]:26381' })
        .REDIS_SENTINELS,
    ).toEqual([
      { host: 's1.redis', port: 26379 },
      { host: '10.0.0.2', port: 26380 },
      { host: '::1', port: 26381 },
    ]);
  });

  it('should refuse anything that is not host:port, with the variable named', () => {
    for (const bad of ['s1', 's1:0', 's1:70000', 's1:26379;rm -rf /', 'a b:1']) {
      expect(() => loadConfig(commonEnv, { REDIS_SENTINELS: bad }), bad).toThrow(/REDIS_SENTINELS/);
    }
  });

  it('should never quote the sentinel password', () => {
    expect(() =>
      loadConfig(commonEnv, { REDIS_SENTINEL_PASSWORD: 'x', REDIS_SENTINEL_MASTER: 'bad name!' }),
    ).toThrow(/REDIS_SENTINEL_MASTER/);
  });
});
