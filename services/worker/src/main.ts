// The worker process: read and validate the environment, build the outbound clients, run the
// BullMQ workers, and shut down gracefully on SIGTERM/SIGINT. The only module with side effects.
import { readFileSync } from 'node:fs';
import {
  ConfigError,
  CursorRunnerClient,
  ElevenLabsClient,
  SecretRedactor,
  TelegramClientCache,
  createHttpAgent,
  createLogger,
  loadBots,
  loadConfig,
  workerEnv,
  type BotRegistry,
  type WorkerConfig,
} from '@telegram-receiver/core';
import { createWorkerService } from './worker.ts';

let config: WorkerConfig;
let bots: BotRegistry;
try {
  config = loadConfig(workerEnv, process.env);
  bots = loadBots(config, path => readFileSync(path, 'utf8'));
  if (bots.size === 0) {
    throw new ConfigError([
      {
        name: 'TELEGRAM_BOT_TOKEN',
        message:
          'no bot configured: the worker cannot answer anyone; set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET, or BOTS_FILE',
      },
    ]);
  }
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  // One line per problem, so an operator fixes them all in one go; secret values are never quoted.
  console.error(`worker: invalid configuration (${err.issues.length} problem(s)); not starting`);
  for (const issue of err.issues) console.error(`worker: ${issue.name}: ${issue.message}`);
  process.exit(1);
}

const redisPassword = URL.canParse(config.REDIS_URL) ? new URL(config.REDIS_URL).password : '';
const secrets = [
  config.TELEGRAM_BOT_TOKEN,
  config.TELEGRAM_WEBHOOK_SECRET,
  config.WEBHOOK_SECRET,
  config.ELEVENLABS_API_KEY,
  config.REDIS_URL,
  redisPassword === '' ? undefined : decodeURIComponent(redisPassword),
  ...bots.all().flatMap(bot => [bot.token, bot.webhookSecret]),
];
const logger = createLogger({ service: 'worker', level: config.LOG_LEVEL, secrets });
const redactor = new SecretRedactor(secrets);

process.on('uncaughtException', err => {
  logger.fatal({ err }, 'worker crashed: uncaught exception');
  process.exit(1);
});
process.on('unhandledRejection', err => {
  logger.fatal({ err }, 'worker crashed: unhandled promise rejection');
  process.exit(1);
});

const agent = createHttpAgent();
const telegram = new TelegramClientCache({
  baseUrl: config.TELEGRAM_API_URL,
  agent,
  timeoutMs: config.TELEGRAM_TIMEOUT_MS,
  logger,
});
const cursorRunner = new CursorRunnerClient({
  baseUrl: config.CURSOR_RUNNER_URL,
  agent,
  timeoutMs: config.CURSOR_RUNNER_TIMEOUT * 1000,
  webhookSecret: config.WEBHOOK_SECRET,
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
if (elevenLabs === undefined) {
  logger.warn(
    'ELEVENLABS_API_KEY is not set: voice messages get a "not available" reply, answers are text only',
  );
}
if (config.WEBHOOK_SECRET === undefined) {
  logger.warn('WEBHOOK_SECRET is not set: cursor-runner callbacks will be refused by the gateway');
}

const service = createWorkerService({
  config,
  bots,
  telegram,
  cursorRunner,
  elevenLabs,
  logger,
  redactor,
});

let stopping = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal, graceMs: config.SHUTDOWN_GRACE_MS }, 'worker shutting down');
  // Never hang forever: past the grace period plus a margin, leave with a failure code.
  setTimeout(() => {
    logger.error('worker shutdown took too long; exiting');
    process.exit(1);
  }, config.SHUTDOWN_GRACE_MS + 5000).unref();
  await service.stop();
  await agent.close();
  logger.info('worker stopped');
  process.exit(0);
}
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => void shutdown(signal));
}

try {
  const { opsPort } = await service.start();
  logger.info(
    {
      opsPort,
      bots: bots.all().map(bot => bot.name),
      voice: elevenLabs !== undefined,
      updatesConcurrency: config.UPDATES_CONCURRENCY,
      callbacksConcurrency: config.CALLBACKS_CONCURRENCY,
    },
    `worker listening (ops port ${opsPort})`,
  );
} catch (err) {
  logger.fatal({ err }, 'worker failed to start');
  process.exit(1);
}
