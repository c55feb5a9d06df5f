// The gateway process: read and validate the environment, connect to Redis, listen, and shut down
// gracefully on SIGTERM/SIGINT. The only module with side effects; everything else is importable.
import { readFileSync } from 'node:fs';
import {
  ConfigError,
  SettingsStore,
  TelegramClientCache,
  closeConnection,
  createHttpAgent,
  createWorkerConnection,
  closeQueues,
  createLogger,
  createProducerConnection,
  createQueues,
  gatewayEnv,
  loadBots,
  loadConfig,
  type BotRegistry,
  type GatewayConfig,
} from '@telegram-receiver/core';
import { Registry } from 'prom-client';
import { createGateway } from './app.ts';

let config: GatewayConfig;
let bots: BotRegistry;
try {
  config = loadConfig(gatewayEnv, process.env);
  bots = loadBots(config, path => readFileSync(path, 'utf8'));
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  // One line per problem, so an operator fixes them all in one go; secret values are never quoted.
  console.error(`gateway: invalid configuration (${err.issues.length} problem(s)); not starting`);
  for (const issue of err.issues) console.error(`gateway: ${issue.name}: ${issue.message}`);
  process.exit(1);
}

const redisPassword = URL.canParse(config.REDIS_URL) ? new URL(config.REDIS_URL).password : '';
const logger = createLogger({
  service: 'gateway',
  level: config.LOG_LEVEL,
  secrets: [
    config.TELEGRAM_BOT_TOKEN,
    config.TELEGRAM_WEBHOOK_SECRET,
    config.WEBHOOK_SECRET,
    config.REDIS_URL,
    redisPassword === '' ? undefined : decodeURIComponent(redisPassword),
    ...bots.all().flatMap(bot => [bot.token, bot.webhookSecret]),
  ],
});

process.on('uncaughtException', err => {
  logger.fatal({ err }, 'gateway crashed: uncaught exception');
  process.exit(1);
});
process.on('unhandledRejection', err => {
  logger.fatal({ err }, 'gateway crashed: unhandled promise rejection');
  process.exit(1);
});

if (bots.size === 0) {
  logger.warn(
    'no bot configured: every webhook request answers 401; set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET, or BOTS_FILE',
  );
}
if (config.WEBHOOK_SECRET === undefined) {
  logger.warn('WEBHOOK_SECRET is not set: /cursor-runner/callback answers 503 until it is');
}

// Commands issued in the same tick (callback enqueues, probes) share one socket write. The webhook
// does not depend on it: UpdateBatcher already writes each tick's updates with one call.
const redis = createProducerConnection({
  url: config.REDIS_URL,
  name: 'gateway-producer',
  autoPipelining: config.REDIS_AUTO_PIPELINING,
});
let redisDown = false;
redis.on('error', (err: Error) => {
  // ioredis repeats the error on every reconnect attempt: log the transition only.
  if (!redisDown) logger.warn({ err }, 'Redis connection error; webhooks answer 503 until it is back');
  redisDown = true;
});
redis.on('ready', () => {
  if (redisDown) logger.info('Redis connection is back');
  redisDown = false;
});
const queues = createQueues(redis, config.QUEUE_PREFIX);
for (const queue of [queues.updates, queues.callbacks]) {
  queue.on('error', err => logger.debug({ err, queue: queue.name }, 'queue error'));
}

// The operator API: Bot API clients (set_webhook & co.) and the shared runtime settings. The
// settings subscriber waits for Redis in the background, so a Redis outage never blocks start-up.
const agent = createHttpAgent();
const telegram = new TelegramClientCache({ baseUrl: config.TELEGRAM_API_URL, agent, logger });
const subscriber = createWorkerConnection({ url: config.REDIS_URL, name: 'gateway-settings' });
subscriber.on('error', (err: Error) => logger.debug({ err }, 'settings subscriber error'));
const settings = new SettingsStore({ redis, subscriber, prefix: config.QUEUE_PREFIX, logger });
settings.start().catch((err: unknown) => logger.warn({ err }, 'settings: cannot subscribe to changes yet'));

const gateway = createGateway({
  config,
  bots,
  redis,
  queues,
  logger,
  registry: new Registry(),
  defaultMetrics: true,
  admin: { telegram, settings },
});

let stopping = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal, graceMs: config.SHUTDOWN_GRACE_MS }, 'gateway shutting down');
  // Never hang forever: past the grace period plus a margin, leave with a failure code.
  setTimeout(() => {
    logger.error('gateway shutdown took too long; exiting');
    process.exit(1);
  }, config.SHUTDOWN_GRACE_MS + 5000).unref();
  await gateway.stop();
  await settings.close();
  await closeQueues(queues);
  await Promise.all([closeConnection(redis), closeConnection(subscriber), agent.close()]);
  logger.info('gateway stopped');
  process.exit(0);
}
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => void shutdown(signal));
}

try {
  const { port, opsPort } = await gateway.start();
  logger.info(
    { port, opsPort, host: config.HOST, bots: bots.all().map(bot => bot.name) },
    `gateway listening on ${config.HOST}:${port} (ops ${opsPort})`,
  );
} catch (err) {
  logger.fatal({ err }, 'gateway failed to start');
  process.exit(1);
}
