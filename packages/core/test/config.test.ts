import { describe, expect, it } from 'vitest';
import { commonEnv, envSecretList, loadConfig } from '../src/config.ts';
import { ConfigError } from '../src/errors/config-error.ts';
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

describe('REDIS_CLUSTER_NODES', () => {
  it('should read the seed nodes, with a hash-tagged prefix', () => {
    const config = loadConfig(commonEnv, {
      REDIS_CLUSTER_NODES: 'redis-0.redis:6379,10.0.0.3:6380',
      QUEUE_PREFIX: '{tr}',
    });
    expect(config.REDIS_CLUSTER_NODES).toEqual([
      { host: 'redis-0.redis', port: 6379 },
      { host: '10.0.0.3', port: 6380 },
    ]);
    expect(loadConfig(commonEnv, {}).REDIS_CLUSTER_NODES).toBeUndefined();
  });

  it('should refuse a prefix without a hash tag, saying what to set', () => {
    for (const [prefix, suggested] of [
      [undefined, '{tr}'],
      ['bot-a', '{bot-a}'],
      ['{}x', '{x}'],
      ['{tr', '{tr}'],
    ] as const) {
      expect(
        () => loadConfig(commonEnv, { REDIS_CLUSTER_NODES: 'n1:6379', QUEUE_PREFIX: prefix }),
        String(prefix),
      ).toThrow(`QUEUE_PREFIX: on Redis Cluster the prefix needs a hash tag`);
      expect(() => loadConfig(commonEnv, { REDIS_CLUSTER_NODES: 'n1:6379', QUEUE_PREFIX: prefix })).toThrow(
        `set QUEUE_PREFIX=${suggested}`,
      );
    }
    for (const prefix of ['{tr}', 'a{tr}', '{tr}-b']) {
      expect(
        loadConfig(commonEnv, { REDIS_CLUSTER_NODES: 'n1:6379', QUEUE_PREFIX: prefix }).QUEUE_PREFIX,
      ).toBe(prefix);
    }
  });

  it('should refuse Sentinel and Cluster together, and a database other than 0, with every problem listed', () => {
    let error: unknown;
    try {
      loadConfig(commonEnv, {
        REDIS_CLUSTER_NODES: 'n1:6379',
        REDIS_SENTINELS: 's1:26379',
        REDIS_URL: 'redis://:pw-s3cret@x:6379/2',
        QUEUE_PREFIX: 'tr',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues;
    expect(issues.map(i => i.name).sort()).toEqual(['QUEUE_PREFIX', 'REDIS_CLUSTER_NODES', 'REDIS_URL']);
    expect(issues.find(i => i.name === 'REDIS_CLUSTER_NODES')?.message).toBe(
      'set REDIS_SENTINELS (Sentinel) or REDIS_CLUSTER_NODES (Cluster), not both',
    );
    expect(JSON.stringify(issues)).not.toContain('pw-s3cret');
  });

  it('should refuse anything that is not host:port', () => {
    expect(() => loadConfig(commonEnv, { REDIS_CLUSTER_NODES: 'n1', QUEUE_PREFIX: '{tr}' })).toThrow(
      /REDIS_CLUSTER_NODES: must be a comma-separated list of host:port/,
    );
  });
});
