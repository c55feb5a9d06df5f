import { randomUUID } from 'node:crypto';
import { Router } from '@koa/router';
import { buildMp3 } from '../audio/mp3.ts';
import { buildOpusVoice, TRANSCRIPT_TAG } from '../audio/opus.ts';
import { BodyError, parseBody, readRawBody, recordedBody, type ParsedBody } from '../body.ts';
import type { CallInfo, SandboxContext, SandboxCtxState } from '../context.ts';
import { applyFaults, elevenLabsError } from '../faults.ts';
import type { SandboxState } from '../sandbox-state.ts';
import { hear, InvalidAudioError, wordsOf } from './audio-analysis.ts';

const BODY_LIMIT = 100 * 1024 * 1024;
const STT_MODELS = new Set(['scribe_v1', 'scribe_v2', 'scribe_v1_experimental']);
const MAX_TTS_CHARACTERS = 40_000;
const OUTPUT_FORMAT = /^(mp3|opus|pcm|wav)_(\d{4,5})(?:_(\d{2,3}))?$/;

/** FastAPI's 422 for a missing field. */
function missing(where: 'body' | 'query', field: string) {
  return { detail: [{ loc: [where, field], msg: 'field required', type: 'value_error.missing' }] };
}

/**
 * Auth, the plan's concurrency cap and fault rules around one ElevenLabs call. The slot is held
 * while faults (latency) run, so a slow request counts against the cap as it does upstream.
 */
async function guarded(
  ctx: SandboxContext,
  state: SandboxState,
  method: string,
  work: (body: ParsedBody, call: CallInfo) => Promise<void> | void,
  inFlight: { n: number },
): Promise<void> {
  const call: CallInfo = { service: 'elevenlabs', method };
  ctx.state.call = call;
  const max = state.options.elevenLabsConcurrency;
  const setUsage = (current: number) => {
    ctx.set('current-concurrent-requests', String(current));
    ctx.set('maximum-concurrent-requests', String(max));
  };
  setUsage(inFlight.n);
  const key = ctx.get('xi-api-key');
  const expected = state.options.elevenLabsApiKey;
  if (key === '' || (expected !== undefined && key !== expected)) {
    ctx.status = 401;
    ctx.body = elevenLabsError(401, 'invalid_api_key', 'Invalid API key');
    return;
  }
  if (inFlight.n >= max) {
    ctx.status = 429;
    ctx.body = elevenLabsError(
      429,
      'too_many_concurrent_requests',
      `Too many concurrent requests: ${inFlight.n} in flight, your plan allows ${max}. Wait for one to finish.`,
    );
    return;
  }
  inFlight.n++;
  setUsage(inFlight.n);
  try {
    let body: ParsedBody;
    try {
      body = await parseBody(ctx.get('content-type') || undefined, await readRawBody(ctx.req, BODY_LIMIT));
    } catch (err) {
      if (!(err instanceof BodyError)) throw err;
      ctx.status = err.status === 413 ? 413 : 400;
      ctx.body = elevenLabsError(
        ctx.status,
        err.status === 413 ? 'file_too_large' : 'invalid_request',
        err.message,
      );
      return;
    }
    call.body = recordedBody(body);
    if (await applyFaults(ctx, state, call)) return;
    await work(body, call);
  } finally {
    inFlight.n--;
  }
}

/** The ElevenLabs stand-in: speech-to-text (multipart) and text-to-speech (JSON, output_format in the query). */
export function elevenLabsRoutes(state: SandboxState): Router<SandboxCtxState> {
  const router = new Router<SandboxCtxState>();
  const inFlight = { n: 0 };

  router.post('/v1/speech-to-text', async function speechToText(ctx) {
    await guarded(
      ctx,
      state,
      'speech-to-text',
      body => {
        const model = body.fields.model_id;
        if (typeof model !== 'string' || model === '') {
          ctx.status = 422;
          ctx.body = missing('body', 'model_id');
          return;
        }
        if (!STT_MODELS.has(model)) {
          ctx.status = 422;
          ctx.body = {
            detail: [
              {
                loc: ['body', 'model_id'],
                msg: `unexpected value; permitted: ${[...STT_MODELS].join(', ')}`,
                type: 'value_error.const',
              },
            ],
          };
          return;
        }
        const file = body.files.file;
        if (file === undefined) {
          ctx.status = 422;
          ctx.body = missing('body', 'file');
          return;
        }
        let heard;
        try {
          heard = hear(file.bytes);
        } catch (err) {
          if (!(err instanceof InvalidAudioError)) throw err;
          ctx.status = 400;
          ctx.body = elevenLabsError(400, 'invalid_audio', err.message);
          return;
        }
        const language = body.fields.language_code;
        ctx.body = {
          language_code: typeof language === 'string' && language !== '' ? language : 'en',
          language_probability: 0.98,
          text: heard.transcript,
          words: wordsOf(heard.transcript),
          ...(heard.durationSecs === undefined ? {} : { audio_duration_secs: heard.durationSecs }),
          transcription_id: randomUUID().replaceAll('-', ''),
        };
      },
      inFlight,
    );
  });

  const textToSpeech = async function textToSpeech(ctx: SandboxContext) {
    await guarded(
      ctx,
      state,
      'text-to-speech',
      body => {
        if (body.kind !== 'json' && body.kind !== 'empty') {
          ctx.status = 400;
          ctx.body = elevenLabsError(400, 'invalid_request', 'the body must be JSON');
          return;
        }
        const text = body.fields.text;
        if (typeof text !== 'string') {
          ctx.status = 422;
          ctx.body = missing('body', 'text');
          return;
        }
        if (text.trim() === '') {
          ctx.status = 400;
          ctx.body = elevenLabsError(400, 'empty_text', 'The text must not be empty.');
          return;
        }
        if (text.length > MAX_TTS_CHARACTERS) {
          ctx.status = 400;
          ctx.body = elevenLabsError(
            400,
            'max_character_limit_exceeded',
            `The text has ${text.length} characters; the model allows ${MAX_TTS_CHARACTERS}.`,
          );
          return;
        }
        const format =
          typeof ctx.query.output_format === 'string' ? ctx.query.output_format : 'mp3_44100_128';
        const parsed = OUTPUT_FORMAT.exec(format);
        if (!parsed) {
          ctx.status = 422;
          ctx.body = {
            detail: [
              {
                loc: ['query', 'output_format'],
                msg: 'value is not a valid enumeration member',
                type: 'type_error.enum',
              },
            ],
          };
          return;
        }
        // Roughly speaking speed: 0.4 s a word, at least half a second, at most ten minutes.
        const words = text.split(/\s+/).filter(w => w !== '').length;
        const durationMs = Math.min(600_000, Math.max(500, words * 400));
        const tags = { [TRANSCRIPT_TAG]: text };
        const codec = parsed[1];
        const rate = Number(parsed[2]);
        ctx.set('request-id', randomUUID());
        ctx.set('history-item-id', randomUUID().replaceAll('-', '').slice(0, 20));
        ctx.set('character-cost', String(text.length));
        if (codec === 'opus') {
          ctx.type = 'audio/ogg';
          ctx.body = buildOpusVoice({ durationMs, tags });
        } else if (codec === 'mp3') {
          ctx.type = 'audio/mpeg';
          ctx.body = buildMp3({ durationMs, tags });
        } else {
          const pcm = Buffer.alloc(Math.round((rate * durationMs) / 1000) * 2);
          if (codec === 'pcm') {
            ctx.type = 'audio/pcm';
            ctx.body = pcm;
          } else {
            ctx.type = 'audio/wav';
            ctx.body = Buffer.concat([wavHeader(pcm.length, rate), pcm]);
          }
        }
      },
      inFlight,
    );
  };
  router.post('/v1/text-to-speech/:voiceId', textToSpeech);
  router.post('/v1/text-to-speech/:voiceId/stream', textToSpeech);

  return router;
}

function wavHeader(dataLength: number, rate: number): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + dataLength, 4);
  h.write('WAVEfmt ', 8, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(dataLength, 40);
  return h;
}
