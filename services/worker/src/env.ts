import { commonEnv, envHttpUrl, envOptionalSecret, envPort, envPositiveInt } from '@telegram-receiver/core';
import { z } from 'zod';

/** Default of STILL_WORKING_NOTICE_SECONDS: well past a normal answer, short enough not to feel like silence. */
export const STILL_WORKING_NOTICE_DEFAULT_SECONDS = 90;
/** The callback state lives an hour: after that no answer can come, so a later notice would be a lie. */
export const STILL_WORKING_NOTICE_MAX_SECONDS = 3600;

/** Every environment variable the worker reads (documented in docs/configuration.md). */
export const workerEnv = {
  ...commonEnv,
  OPS_PORT: envPort(9102).describe('Ops listener: /health, /ready, /metrics.'),
  UPDATES_CONCURRENCY: envPositiveInt(32, 1000).describe('Updates processed at once per worker process.'),
  CALLBACKS_CONCURRENCY: envPositiveInt(32, 1000).describe('Callbacks processed at once per worker process.'),
  TELEGRAM_API_URL: envHttpUrl('https://api.telegram.org').describe(
    'Bot API base URL (the sandbox in make dev).',
  ),
  TELEGRAM_TIMEOUT_MS: envPositiveInt(30_000, 600_000).describe(
    'Deadline of one Bot API call, in ms. A send that times out is never repeated.',
  ),
  TELEGRAM_BOT_MESSAGES_PER_SECOND: envPositiveInt(30, 1000).describe(
    "Messages per second one bot may send, across replicas (Telegram's limit: 30; more with paid broadcasts).",
  ),
  TELEGRAM_WEBHOOK_BASE_URL: envHttpUrl('http://localhost:3000').describe(
    'Public base URL of the gateway; cursor-runner posts results to <base>/cursor-runner/callback.',
  ),
  CURSOR_RUNNER_CALLBACK_URL: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe('Full callback URL for cursor-runner when it reaches the gateway by another address.'),
  CURSOR_RUNNER_URL: envHttpUrl('http://localhost:3001').describe('cursor-runner base URL.'),
  CURSOR_RUNNER_TIMEOUT: envPositiveInt(30, 3600).describe(
    'Seconds to wait for cursor-runner to acknowledge a prompt.',
  ),
  STILL_WORKING_NOTICE_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(STILL_WORKING_NOTICE_MAX_SECONDS)
    .default(STILL_WORKING_NOTICE_DEFAULT_SECONDS)
    .describe(
      'Seconds after a hand-off to cursor-runner or an answer send timed out before the chat gets one short notice, unless the answer reached it. 0: never.',
    ),
  ELEVENLABS_API_KEY: envOptionalSecret().describe(
    'ElevenLabs key (secret). Unset: voice in/out answered with a clear reply.',
  ),
  ELEVENLABS_API_URL: envHttpUrl('https://api.elevenlabs.io').describe(
    'ElevenLabs base URL (the sandbox in make dev).',
  ),
  ELEVENLABS_STT_MODEL_ID: z.string().min(1).default('scribe_v1').describe('Speech-to-text model.'),
  ELEVENLABS_TTS_MODEL_ID: z.string().min(1).default('eleven_turbo_v2_5').describe('Text-to-speech model.'),
  ELEVENLABS_VOICE_ID: z.string().min(1).default('vfaqCOvlrKi4Zp7C2IAm').describe('Text-to-speech voice.'),
  ELEVENLABS_CONCURRENCY: envPositiveInt(5, 100).describe(
    'ElevenLabs requests in flight at once, cluster-wide (plan limit).',
  ),
};

/** The worker's validated settings. */
export type WorkerConfig = z.output<z.ZodObject<typeof workerEnv>>;
