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
