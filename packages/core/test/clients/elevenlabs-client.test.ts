import { freePort } from '@telegram-receiver/testing';
import { describe, expect, it } from 'vitest';
import {
  ApiRejectedError,
  ElevenLabsClient,
  TranscriptionEmptyError,
  UnexpectedAudioFormatError,
  UpstreamUnreachableError,
  type ElevenLabsClientOptions,
} from '@telegram-receiver/core';
import {
  captureLogger,
  errorTexts,
  type RecordedRequest,
  rejection,
  useClientTestEnv,
} from './fake-upstream.ts';

const API_KEY = 'sk_test_elevenlabs_key_0123456789abcdef';
const OGG = new Uint8Array([0x4f, 0x67, 0x67, 0x53, 0, 2, 0, 0, 1, 2, 3]);
const MP3_ID3 = new Uint8Array([0x49, 0x44, 0x33, 4, 0, 0, 0, 0]);
const MP3_SYNC = new Uint8Array([0xff, 0xfb, 0x90, 0x64, 0, 0]);

const env = useClientTestEnv();

const client = (extra: Partial<ElevenLabsClientOptions> = {}) =>
  new ElevenLabsClient({
    apiKey: API_KEY,
    baseUrl: env.upstream.url,
    agent: env.agent,
    initialDelayMs: 5,
    maxDelayMs: 20,
    ...extra,
  });

const formOf = (r: RecordedRequest) =>
  new Response(r.body, { headers: { 'content-type': r.headers['content-type']! } }).formData();

const audio = (bytes: Uint8Array, headers: Record<string, string> = {}) => ({
  status: 200,
  bytes,
  headers: { 'content-type': 'audio/ogg', ...headers },
});

describe('ElevenLabsClient.transcribe', () => {
  it('should POST multipart model_id, file and language_code with xi-api-key', async () => {
    env.upstream.reply({ status: 200, json: { text: ' hello world ', language_code: 'eng', words: [] } });
    const voice = new Uint8Array([0x4f, 0x67, 0x67, 0x53, 9, 9]);
    const got = await client().transcribe({
      audio: voice,
      filename: 'voice.oga',
      contentType: 'audio/ogg',
      languageCode: 'en',
    });
    expect(got).toEqual({ text: 'hello world', languageCode: 'eng' });
    const req = env.upstream.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/v1/speech-to-text');
    expect(req.headers['xi-api-key']).toBe(API_KEY);
    const form = await formOf(req);
    expect(form.get('model_id')).toBe('scribe_v1');
    expect(form.get('language_code')).toBe('en');
    const file = form.get('file') as File;
    expect(file.name).toBe('voice.oga');
    expect(file.type).toBe('audio/ogg');
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(voice);
  });

  it('should use the configured model and omit language_code when not given', async () => {
    env.upstream.reply({ status: 200, json: { text: 'hi' } });
    expect(
      await client({ sttModelId: 'scribe_v2' }).transcribe({
        audio: new Uint8Array([1]),
        filename: 'a.mp3',
        contentType: 'audio/mpeg',
      }),
    ).toEqual({ text: 'hi' });
    const form = await formOf(env.upstream.requests[0]!);
    expect(form.get('model_id')).toBe('scribe_v2');
    expect(form.has('language_code')).toBe(false);
  });

  it.each(['', '   \n'])('should throw TranscriptionEmptyError for the transcript %j', async text => {
    env.upstream.reply({ status: 200, json: { text, language_code: 'eng' } });
    await expect(
      client().transcribe({ audio: new Uint8Array([1]), filename: 'v.oga', contentType: 'audio/ogg' }),
    ).rejects.toBeInstanceOf(TranscriptionEmptyError);
    expect(env.upstream.requests).toHaveLength(1);
  });

  it('should reject an answer without a text field as ambiguous', async () => {
    env.upstream.reply({ status: 200, json: { transcripts: [] } });
    const err = await rejection(
      client().transcribe({ audio: new Uint8Array([1]), filename: 'v.oga', contentType: 'audio/ogg' }),
    );
    expect(err).toMatchObject({
      name: 'ApiRejectedError',
      ambiguous: true,
      description: 'answer has no text field',
    });
  });

  it('should take the error text from detail[].msg on a 422 and not retry it', async () => {
    env.upstream.reply({
      status: 422,
      json: { detail: [{ loc: ['body', 'model_id'], msg: 'field required', type: 'value_error' }] },
    });
    const err = await rejection(
      client().transcribe({ audio: new Uint8Array([1]), filename: 'v.oga', contentType: 'audio/ogg' }),
    );
    expect(err).toBeInstanceOf(ApiRejectedError);
    expect(err).toMatchObject({ status: 422, description: 'field required', method: 'speech-to-text' });
    expect(env.upstream.requests).toHaveLength(1);
  });

  it('should retry a 5xx and a dropped connection', async () => {
    env.upstream.reply({ status: 503, text: 'busy' }, { drop: true }, { status: 200, json: { text: 'ok' } });
    const got = await client().transcribe({
      audio: new Uint8Array([1]),
      filename: 'v.oga',
      contentType: 'audio/ogg',
    });
    expect(got.text).toBe('ok');
    expect(env.upstream.requests).toHaveLength(3);
  });

  it('should classify a refused connection as connect after its retries', async () => {
    const port = await freePort();
    const { logger, lines } = captureLogger();
    const c = new ElevenLabsClient({
      apiKey: API_KEY,
      baseUrl: `http://127.0.0.1:${port}`,
      agent: env.agent,
      initialDelayMs: 5,
      maxDelayMs: 10,
      logger,
    });
    const err = await rejection(
      c.transcribe({ audio: new Uint8Array([1]), filename: 'v', contentType: 'audio/ogg' }),
    );
    expect(err).toBeInstanceOf(UpstreamUnreachableError);
    expect(err).toMatchObject({ service: 'elevenlabs', phase: 'connect' });
    expect(lines.filter(l => l.includes('retrying outbound call'))).toHaveLength(2);
  });
});

describe('ElevenLabsClient.synthesize', () => {
  it('should POST JSON {text, model_id} with output_format=opus_48000_64 and accept OggS', async () => {
    env.upstream.reply(audio(OGG));
    const got = await client().synthesize({ text: 'Hello', format: 'ogg_opus' });
    expect(got).toEqual({ audio: OGG, contentType: 'audio/ogg', format: 'ogg_opus' });
    const req = env.upstream.requests[0]!;
    expect(req.url).toBe('/v1/text-to-speech/vfaqCOvlrKi4Zp7C2IAm?output_format=opus_48000_64');
    expect(req.headers['xi-api-key']).toBe(API_KEY);
    expect(req.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req.body.toString())).toEqual({ text: 'Hello', model_id: 'eleven_turbo_v2_5' });
  });

  it('should ask for mp3_44100_128 with the given voice and model', async () => {
    env.upstream.reply(audio(MP3_ID3, { 'content-type': 'audio/mpeg' }));
    const got = await client({ ttsModelId: 'eleven_flash_v2_5' }).synthesize({
      text: 'Hi',
      format: 'mp3',
      voiceId: 'voice/../x',
    });
    expect(got.format).toBe('mp3');
    expect(got.contentType).toBe('audio/mpeg');
    expect(env.upstream.requests[0]!.url).toBe(
      '/v1/text-to-speech/voice%2F..%2Fx?output_format=mp3_44100_128',
    );
    expect(JSON.parse(env.upstream.requests[0]!.body.toString())).toMatchObject({
      model_id: 'eleven_flash_v2_5',
    });
  });

  it('should return MP3 bytes as format mp3 when OGG was asked for but not delivered', async () => {
    env.upstream.reply(audio(MP3_SYNC, { 'content-type': 'audio/mpeg' }));
    const got = await client().synthesize({ text: 'Hi', format: 'ogg_opus' });
    expect(got).toMatchObject({ format: 'mp3', contentType: 'audio/mpeg' });
  });

  it('should throw UnexpectedAudioFormatError for bytes that are neither OGG nor MP3', async () => {
    env.upstream.reply(audio(new TextEncoder().encode('<html>oops</html>'), { 'content-type': 'text/html' }));
    const err = await rejection(client().synthesize({ text: 'Hi', format: 'ogg_opus' }));
    expect(err).toBeInstanceOf(UnexpectedAudioFormatError);
    expect(err).toMatchObject({ requested: 'ogg_opus', magic: '3c68746d' });
  });

  it('should throw UnexpectedAudioFormatError for an empty answer', async () => {
    env.upstream.reply(audio(new Uint8Array(0)));
    await expect(client().synthesize({ text: 'Hi', format: 'mp3' })).rejects.toBeInstanceOf(
      UnexpectedAudioFormatError,
    );
  });

  it('should refuse empty text without a request', async () => {
    await expect(client().synthesize({ text: '  ', format: 'mp3' })).rejects.toThrow(/text is empty/);
    expect(env.upstream.requests).toHaveLength(0);
  });

  it('should refuse audio larger than maxAudioBytes', async () => {
    env.upstream.reply(audio(new Uint8Array(4096).fill(0xff)));
    const err = await rejection(client({ maxAudioBytes: 1024 }).synthesize({ text: 'Hi', format: 'mp3' }));
    expect(err).toMatchObject({ ambiguous: true, description: 'answer larger than 1024 bytes' });
  });
});

describe('ElevenLabsClient 429 handling', () => {
  const concurrency = {
    status: 429,
    json: { detail: { status: 'too_many_concurrent_requests', message: 'Too many concurrent requests' } },
  };
  const busy = { status: 429, json: { detail: { status: 'system_busy', message: 'System busy' } } };

  it('should wait concurrencyRetryDelayMs after too_many_concurrent_requests', async () => {
    env.upstream.reply(concurrency, audio(OGG));
    const started = Date.now();
    await client({ concurrencyRetryDelayMs: 400 }).synthesize({ text: 'Hi', format: 'ogg_opus' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(380);
    expect(env.upstream.requests).toHaveLength(2);
  });

  it('should treat the newer code concurrent_limit_exceeded the same way', async () => {
    env.upstream.reply(
      {
        status: 429,
        json: { type: 'rate_limit_error', code: 'concurrent_limit_exceeded', message: 'limit' },
      },
      audio(OGG),
    );
    const started = Date.now();
    await client({ concurrencyRetryDelayMs: 400 }).synthesize({ text: 'Hi', format: 'ogg_opus' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(380);
  });

  it('should back off exponentially (not the concurrency wait) after system_busy', async () => {
    env.upstream.reply(busy, busy, audio(OGG));
    const started = Date.now();
    await client({ concurrencyRetryDelayMs: 5_000 }).synthesize({ text: 'Hi', format: 'ogg_opus' });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(env.upstream.requests).toHaveLength(3);
  });

  it('should tell the two kinds apart in the error code when retries run out', async () => {
    env.upstream.reply(concurrency);
    const a = await rejection(
      client({ maxAttempts: 1 }).transcribe({
        audio: new Uint8Array([1]),
        filename: 'v',
        contentType: 'audio/ogg',
      }),
    );
    env.upstream.reply(busy);
    const b = await rejection(client({ maxAttempts: 1 }).synthesize({ text: 'Hi', format: 'mp3' }));
    expect(a).toMatchObject({
      status: 429,
      code: 'too_many_concurrent_requests',
      description: 'Too many concurrent requests',
    });
    expect(b).toMatchObject({ status: 429, code: 'system_busy', description: 'System busy' });
  });

  it('should throw a Retry-After longer than the inline limit at once', async () => {
    env.upstream.reply({ ...busy, headers: { 'retry-after': '120' } });
    const err = await rejection(client().synthesize({ text: 'Hi', format: 'mp3' }));
    expect(err).toMatchObject({ status: 429, retryAfter: 120 });
    expect(env.upstream.requests).toHaveLength(1);
  });

  it('should expose the last concurrency headers', async () => {
    const c = client();
    expect(c.concurrency).toEqual({ current: undefined, maximum: undefined });
    env.upstream.reply(
      { ...concurrency, headers: { 'current-concurrent-requests': '5', 'maximum-concurrent-requests': '5' } },
      audio(OGG, { 'current-concurrent-requests': '3', 'maximum-concurrent-requests': '5' }),
    );
    await c.synthesize({ text: 'Hi', format: 'ogg_opus' });
    expect(c.concurrency).toEqual({ current: 3, maximum: 5 });
  });
});

describe('ElevenLabsClient key handling', () => {
  it.each([undefined, '', '   '])('should refuse to build without a key (%j)', key => {
    expect(
      () =>
        new ElevenLabsClient({
          apiKey: key as unknown as string,
          baseUrl: env.upstream.url,
          agent: env.agent,
        }),
    ).toThrow(/needs an API key \(ELEVENLABS_API_KEY\)/);
  });

  it('should keep the key out of errors and logs, even when the answer echoes it', async () => {
    const { logger, lines } = captureLogger();
    env.upstream.reply(
      {
        status: 401,
        json: { detail: { status: 'invalid_api_key', message: `Invalid API key: ${API_KEY}` } },
      },
      { hang: true },
    );
    const c = client({ logger, timeoutMs: 300, maxAttempts: 1 });
    const a = await rejection(c.synthesize({ text: 'Hi', format: 'mp3' }));
    const b = await rejection(
      c.transcribe({ audio: new Uint8Array([1]), filename: 'v', contentType: 'audio/ogg' }),
    );
    expect(a).toMatchObject({ status: 401, code: 'invalid_api_key' });
    expect(b).toMatchObject({ phase: 'timeout' });
    for (const err of [a, b]) expect(errorTexts(err)).not.toContain(API_KEY);
    expect(lines.join('')).not.toContain(API_KEY);
    expect(JSON.stringify(c)).not.toContain(API_KEY);
  });

  it('should take error text from detail, error and message in that order', async () => {
    const c = client({ maxAttempts: 1 });
    const cases: [unknown, string][] = [
      [{ detail: 'plain detail' }, 'plain detail'],
      [{ error: 'an error' }, 'an error'],
      [{ message: 'a message' }, 'a message'],
      [{ error: { code: 'voice_not_found', message: 'nested' } }, 'nested'],
      [{}, 'HTTP 400'],
    ];
    for (const [json, text] of cases) {
      env.upstream.reply({ status: 400, json });
      const err = await rejection(c.synthesize({ text: 'Hi', format: 'mp3' }));
      expect(err).toMatchObject({ description: text, ambiguous: false });
    }
  });
});
