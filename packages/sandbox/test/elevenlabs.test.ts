import { FormData, request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readId3Tags } from '../src/audio/mp3.ts';
import { parseOggPages } from '../src/audio/ogg.ts';
import {
  DEFAULT_TRANSCRIPT,
  buildMp3,
  buildOpusVoice,
  readOpusInfo,
  startSandbox,
  type Sandbox,
} from '../src/index.ts';
import { TOKEN, call, capturingLogger, download } from './helpers.ts';

const KEY = 'sk_sandbox_test_key_0123456789';
let sandbox: Sandbox;
const captured = capturingLogger();

beforeAll(async () => {
  sandbox = await startSandbox({ elevenLabsApiKey: KEY, elevenLabsConcurrency: 3, logger: captured.logger });
});
afterAll(async () => {
  await sandbox.close();
});
beforeEach(() => sandbox.reset());

function sttForm(file: Buffer | undefined, model: string | null = 'scribe_v1'): FormData {
  const form = new FormData();
  if (model !== null) form.append('model_id', model);
  if (file !== undefined) {
    form.append('file', new Blob([new Uint8Array(file)], { type: 'audio/ogg' }), 'voice.oga');
  }
  return form;
}
const stt = (form: FormData, key = KEY) =>
  call(`${sandbox.url}/v1/speech-to-text`, { body: form, headers: key === '' ? {} : { 'xi-api-key': key } });
const tts = (json: unknown, format = 'opus_48000_64', key = KEY) =>
  call(`${sandbox.url}/v1/text-to-speech/vfaqCOvlrKi4Zp7C2IAm?output_format=${format}`, {
    body: typeof json === 'string' ? json : JSON.stringify(json),
    headers: { 'content-type': 'application/json', ...(key === '' ? {} : { 'xi-api-key': key }) },
  });
async function ttsBytes(text: string, format: string) {
  const res = await request(`${sandbox.url}/v1/text-to-speech/voice?output_format=${format}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'xi-api-key': KEY },
    body: JSON.stringify({ text, model_id: 'eleven_turbo_v2_5' }),
  });
  return { status: res.statusCode, headers: res.headers, bytes: Buffer.from(await res.body.arrayBuffer()) };
}

describe('POST /v1/speech-to-text', () => {
  it('should hear the transcript of a registered Telegram voice file after a real download', async () => {
    sandbox.registerFile({ fileId: 'voice-hello', transcript: 'please deploy the staging branch' });
    const file = await call(`${sandbox.url}/bot${TOKEN}/getFile`, { json: { file_id: 'voice-hello' } });
    const audio = await download(`${sandbox.url}/file/bot${TOKEN}/${file.body.result.file_path}`);
    const res = await stt(sttForm(audio.bytes));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      language_code: 'en',
      language_probability: 0.98,
      text: 'please deploy the staging branch',
    });
    expect(
      res.body.words.filter((w: { type: string }) => w.type === 'word').map((w: { text: string }) => w.text),
    ).toEqual(['please', 'deploy', 'the', 'staging', 'branch']);
    expect(res.body.words[0]).toEqual({ text: 'please', start: 0, end: 0.4, type: 'word', logprob: 0 });
    expect(res.headers['current-concurrent-requests']).toBe('1');
    expect(res.headers['maximum-concurrent-requests']).toBe('3');
    expect(sandbox.calls({ service: 'elevenlabs' })[0]).toMatchObject({
      method: 'speech-to-text',
      status: 200,
      body: { model_id: 'scribe_v1', file: { firstBytesHex: '4f676753' } },
    });
  });

  it('should hear a fixed sentence in untagged audio, and MP3 tags too', async () => {
    expect((await stt(sttForm(buildOpusVoice()))).body.text).toBe(DEFAULT_TRANSCRIPT);
    expect((await stt(sttForm(buildMp3({ tags: { SANDBOX_TRANSCRIPT: 'from mp3' } })))).body.text).toBe(
      'from mp3',
    );
  });

  it('should answer 422 in FastAPI shape for a missing model_id or file, and for an unknown model', async () => {
    const noModel = await stt(sttForm(buildOpusVoice(), null));
    expect(noModel.status).toBe(422);
    expect(noModel.body).toEqual({
      detail: [{ loc: ['body', 'model_id'], msg: 'field required', type: 'value_error.missing' }],
    });
    const noFile = await stt(sttForm(undefined));
    expect(noFile.status).toBe(422);
    expect(noFile.body).toEqual({
      detail: [{ loc: ['body', 'file'], msg: 'field required', type: 'value_error.missing' }],
    });
    expect((await stt(sttForm(buildOpusVoice(), 'whisper-9000'))).status).toBe(422);
  });

  it('should answer 400 invalid_audio for empty, garbage or broken Ogg audio', async () => {
    const broken = buildOpusVoice().subarray(0, 60);
    for (const bytes of [Buffer.alloc(0), Buffer.from('definitely not audio'), broken]) {
      const res = await stt(sttForm(bytes));
      expect(res.status).toBe(400);
      expect(res.body.detail.status).toBe('invalid_audio');
      expect(typeof res.body.detail.message).toBe('string');
    }
    expect((await stt(sttForm(buildOpusVoice()))).status).toBe(200);
  });

  it('should answer 401 invalid_api_key for a missing or wrong key, never logging it', async () => {
    for (const key of ['', 'sk_wrong_key_but_long_enough']) {
      const res = await stt(sttForm(buildOpusVoice()), key);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ detail: { status: 'invalid_api_key', message: 'Invalid API key' } });
    }
    const log = captured.lines.join('\n');
    expect(log).not.toContain(KEY);
    expect(log).not.toContain('sk_wrong_key_but_long_enough');
  });

  it('should accept any non-empty key when none is configured', async () => {
    const own = await startSandbox();
    try {
      const res = await call(`${own.url}/v1/speech-to-text`, {
        body: sttForm(buildOpusVoice()),
        headers: { 'xi-api-key': 'anything' },
      });
      expect(res.status).toBe(200);
      expect((await call(`${own.url}/v1/speech-to-text`, { body: sttForm(buildOpusVoice()) })).status).toBe(
        401,
      );
    } finally {
      await own.close();
    }
  });
});

describe('POST /v1/text-to-speech/:voiceId', () => {
  it('should return Ogg/Opus for opus_48000_* that speech-to-text hears back', async () => {
    const res = await ttsBytes('your build passed', 'opus_48000_64');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('audio/ogg');
    expect(res.headers['current-concurrent-requests']).toBe('1');
    expect(res.headers['maximum-concurrent-requests']).toBe('3');
    const bytes = res.bytes;
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('OggS');
    expect(parseOggPages(bytes).every(p => p.crcValid)).toBe(true);
    expect(readOpusInfo(bytes).durationSecs).toBeGreaterThan(1);
    expect((await stt(sttForm(bytes))).body.text).toBe('your build passed');
  });

  it('should return MP3 (ID3 + frame sync) for mp3_*', async () => {
    const res = await ttsBytes('hello', 'mp3_44100_128');
    expect(res.headers['content-type']).toBe('audio/mpeg');
    const bytes = res.bytes;
    expect(bytes.subarray(0, 3).toString('latin1')).toBe('ID3');
    expect(readId3Tags(bytes).SANDBOX_TRANSCRIPT).toBe('hello');
  });

  it('should answer 422 for missing text or a bad output_format, 400 for malformed JSON or empty text', async () => {
    const missing = await tts({ model_id: 'eleven_turbo_v2_5' });
    expect(missing.status).toBe(422);
    expect(missing.body).toEqual({
      detail: [{ loc: ['body', 'text'], msg: 'field required', type: 'value_error.missing' }],
    });
    expect(missing.headers['current-concurrent-requests']).toBeDefined();
    expect((await tts({ text: 'x' }, 'flac_999')).status).toBe(422);
    const malformed = await tts('{"text":');
    expect(malformed.status).toBe(400);
    expect(malformed.body.detail.status).toBe('invalid_request');
    expect((await tts({ text: '  ' })).status).toBe(400);
    expect((await tts({ text: 'x'.repeat(40_001) })).body.detail.status).toBe('max_character_limit_exceeded');
    expect((await tts({ text: 'still up' })).status).toBe(200);
  });

  it('should answer 401 without a key', async () => {
    const res = await tts({ text: 'x' }, 'opus_48000_64', '');
    expect(res.status).toBe(401);
    expect(res.headers['maximum-concurrent-requests']).toBe('3');
  });
});

describe('concurrency and faults', () => {
  it('should answer 429 too_many_concurrent_requests above the plan concurrency', async () => {
    sandbox.setFault({ service: 'elevenlabs', method: 'text-to-speech', type: 'latency', ms: 400, times: 3 });
    const slow = [1, 2, 3].map(() => tts({ text: 'slow' }));
    // Wait until all three hold a slot, then one more is refused.
    await expect
      .poll(async () => (await tts({ text: 'probe' })).status, { timeout: 5_000, interval: 20 })
      .toBe(429);
    const results = await Promise.all(slow);
    expect(results.map(r => r.status)).toEqual([200, 200, 200]);
    const refused = sandbox.calls({ service: 'elevenlabs' }).find(c => c.status === 429);
    expect(refused).toBeDefined();
    const again = await tts({ text: 'after' });
    expect(again.status).toBe(200);
  });

  it('should show the 429 body and usage headers', async () => {
    const own = await startSandbox({ elevenLabsConcurrency: 1 });
    try {
      own.setFault({ service: 'elevenlabs', type: 'latency', ms: 300, times: 1 });
      const first = call(`${own.url}/v1/text-to-speech/v?output_format=mp3_44100_128`, {
        json: { text: 'a' },
        headers: { 'xi-api-key': 'k' },
      });
      let second;
      do {
        second = await call(`${own.url}/v1/text-to-speech/v?output_format=mp3_44100_128`, {
          json: { text: 'b' },
          headers: { 'xi-api-key': 'k' },
        });
      } while (second.status === 200);
      expect(second.status).toBe(429);
      expect(second.body.detail.status).toBe('too_many_concurrent_requests');
      expect(second.headers['current-concurrent-requests']).toBe('1');
      expect(second.headers['maximum-concurrent-requests']).toBe('1');
      expect((await first).status).toBe(200);
    } finally {
      await own.close();
    }
  });

  it('should answer 429 system_busy for a status fault with that code', async () => {
    sandbox.setFault({
      service: 'elevenlabs',
      method: 'speech-to-text',
      type: 'status',
      status: 429,
      code: 'system_busy',
      times: 1,
    });
    const res = await stt(sttForm(buildOpusVoice()));
    expect(res.status).toBe(429);
    expect(res.body.detail.status).toBe('system_busy');
    expect(typeof res.body.detail.message).toBe('string');
    expect((await stt(sttForm(buildOpusVoice()))).status).toBe(200);
  });

  it('should answer a 5xx fault in the detail shape', async () => {
    sandbox.setFault({ service: 'elevenlabs', type: 'status', status: 500, times: 1 });
    const res = await tts({ text: 'x' });
    expect(res.status).toBe(500);
    expect(res.body).toEqual({ detail: { status: 'internal_error', message: 'Internal Server Error' } });
  });
});
