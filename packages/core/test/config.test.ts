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
