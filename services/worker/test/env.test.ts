import { loadConfig } from '@telegram-receiver/core';
import { describe, expect, it } from 'vitest';
import { workerEnv } from '../src/env.ts';

describe('loadConfig(workerEnv, env)', () => {
  it('should default the seed names and values', () => {
    const config = loadConfig(workerEnv, {});
    expect(config.ELEVENLABS_STT_MODEL_ID).toBe('scribe_v1');
    expect(config.ELEVENLABS_TTS_MODEL_ID).toBe('eleven_turbo_v2_5');
    expect(config.ELEVENLABS_VOICE_ID).toBe('vfaqCOvlrKi4Zp7C2IAm');
    expect(config.ELEVENLABS_API_KEY).toBeUndefined();
    expect(config.OPS_PORT).toBe(9102);
  });
});

describe('loadConfig(workerEnv, env).STILL_WORKING_NOTICE_SECONDS', () => {
  it('should default to 90 s and accept 0 (off) up to an hour', () => {
    expect(loadConfig(workerEnv, {}).STILL_WORKING_NOTICE_SECONDS).toBe(90);
    expect(loadConfig(workerEnv, { STILL_WORKING_NOTICE_SECONDS: '0' }).STILL_WORKING_NOTICE_SECONDS).toBe(0);
    expect(
      loadConfig(workerEnv, { STILL_WORKING_NOTICE_SECONDS: ' 3600 ' }).STILL_WORKING_NOTICE_SECONDS,
    ).toBe(3600);
    // Blank counts as unset (a `FOO=` line in a .env file), not as 0.
    expect(loadConfig(workerEnv, { STILL_WORKING_NOTICE_SECONDS: '' }).STILL_WORKING_NOTICE_SECONDS).toBe(90);
  });

  it.each(['-1', '1.5', 'ten', '3601', '1e9', '0x10s'])(
    'should refuse %j with an error naming the setting',
    value => {
      expect(() => loadConfig(workerEnv, { STILL_WORKING_NOTICE_SECONDS: value })).toThrow(
        /STILL_WORKING_NOTICE_SECONDS/,
      );
    },
  );
});
