// The worker process: runService reads the environment, builds the logger and handles signals;
// this file builds the outbound clients and the Redis connections, runs the BullMQ workers, and
// closes everything on stop. The only module with side effects.
import { readFileSync } from 'node:fs';
import {
  ConfigError,
  CursorRunnerClient,
  ElevenLabsClient,
  TelegramClientCache,
  createHttpAgent,
  loadBots,
  redisEndpointOf,
  runService,
  watchBots,
} from '@telegram-receiver/core';
import { closeWorkerConnections, createWorkerConnections } from './connections.ts';
import { workerEnv } from './env.ts';
import { createWorkerService } from './worker.ts';

await runService({
  name: 'worker',
  env: workerEnv,
  prepare(config) {
    const bots = loadBots(config, path => readFileSync(path, 'utf8'));
    if (bots.size === 0) {
      throw new ConfigError([
        {
          name: 'TELEGRAM_BOT_TOKEN',
          message:
            'no bot configured: the worker cannot answer anyone; set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET, or BOTS_FILE',
        },
      ]);
    }
    return bots;
  },
  secrets: bots => bots.all().flatMap(bot => [bot.token, bot.webhookSecret]),
  warnings: config => [
    ...(config.ELEVENLABS_API_KEY === undefined
      ? ['ELEVENLABS_API_KEY is not set: voice messages get a "not available" reply, answers are text only']
      : []),
    ...(config.WEBHOOK_SECRET === undefined
      ? ['WEBHOOK_SECRET is not set: cursor-runner callbacks will be refused by the gateway']
      : []),
  ],
  async start({ config, prepared: initialBots, logger, redactor }) {
    const agent = createHttpAgent();
    const telegram = new TelegramClientCache({
      baseUrl: config.TELEGRAM_API_URL,
      agent,
      timeoutMs: config.TELEGRAM_TIMEOUT_MS,
      logger,
    });
    // BOTS_FILE is watched: a rotated token answers from the next job on, without a restart.
    const bots = await watchBots({ config, initial: initialBots, redactor, clients: telegram, logger });
    const cursorRunner = new CursorRunnerClient({
      baseUrl: config.CURSOR_RUNNER_URL,
      agent,
      timeoutMs: config.CURSOR_RUNNER_TIMEOUT * 1000,
      // During a rotation the first listed secret is the new one the gateway already accepts.
      webhookSecret: config.WEBHOOK_SECRET?.[0],
      logger,
    });
    const elevenLabs =
      config.ELEVENLABS_API_KEY === undefined
        ? undefined
        : new ElevenLabsClient({
            apiKey: config.ELEVENLABS_API_KEY,
            baseUrl: config.ELEVENLABS_API_URL,
            agent,
            sttModelId: config.ELEVENLABS_STT_MODEL_ID,
            ttsModelId: config.ELEVENLABS_TTS_MODEL_ID,
            voiceId: config.ELEVENLABS_VOICE_ID,
            logger,
          });
    const connections = createWorkerConnections(redisEndpointOf(config), logger);
    const service = createWorkerService({
      config,
      connections,
      bots,
      telegram,
      cursorRunner,
      elevenLabs,
      logger,
      redactor,
    });
    const { opsPort } = await service.start();
    return {
      message: `worker listening (ops port ${opsPort})`,
      details: {
        opsPort,
        bots: bots.all().map(bot => bot.name),
        voice: elevenLabs !== undefined,
        updatesConcurrency: config.UPDATES_CONCURRENCY,
        callbacksConcurrency: config.CALLBACKS_CONCURRENCY,
      },
      async stop() {
        bots.stop();
        await service.stop();
        await closeWorkerConnections(connections);
        await agent.close();
      },
    };
  },
});
