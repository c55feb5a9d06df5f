// The gateway process: runService reads the environment, builds the logger and handles signals;
// this file creates the connections, starts the gateway, and closes everything on stop. The only
// module with side effects; everything else is importable.
import { readFileSync } from 'node:fs';
import {
  SettingsStore,
  TelegramClientCache,
  closeConnection,
  closeQueues,
  createHttpAgent,
  createMetricsRegistry,
  createProducerConnection,
  createQueues,
  createWorkerConnection,
  loadBots,
  redisEndpointOf,
  runService,
  watchBots,
} from '@telegram-receiver/core';
import { createGateway } from './app.ts';
import { gatewayEnv } from './env.ts';

await runService({
  name: 'gateway',
  env: gatewayEnv,
  prepare: config => loadBots(config, path => readFileSync(path, 'utf8')),
  secrets: bots => bots.all().flatMap(bot => [bot.token, bot.webhookSecret]),
  warnings: (config, bots) => [
    ...(bots.size === 0
      ? [
          'no bot configured: every webhook request answers 401; set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET, or BOTS_FILE',
        ]
      : []),
    ...(config.WEBHOOK_SECRET === undefined
      ? ['WEBHOOK_SECRET is not set: /cursor-runner/callback answers 503 until it is']
      : []),
  ],
  async start({ config, prepared: initialBots, logger, redactor }) {
    // Commands issued in the same tick (callback enqueues, probes) share one socket write. The webhook
    // does not depend on it: UpdateBatcher already writes each tick's updates with one call.
    const redis = createProducerConnection({
      ...redisEndpointOf(config),
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
    // The jobs the gateway writes carry the dead-letter retention (BullMQ applies it when they fail).
    const queues = createQueues(redis, config.QUEUE_PREFIX, {
      hours: config.DEAD_LETTER_RETENTION_HOURS,
      max: config.DEAD_LETTER_MAX,
    });
    for (const queue of [queues.updates, queues.callbacks, queues.notices]) {
      queue.on('error', err => logger.debug({ err, queue: queue.name }, 'queue error'));
    }

    // The operator API: Bot API clients (set_webhook & co.) and the shared runtime settings. The
    // settings subscriber waits for Redis in the background, so a Redis outage never blocks start-up.
    const agent = createHttpAgent();
    const telegram = new TelegramClientCache({ baseUrl: config.TELEGRAM_API_URL, agent, logger });
    // BOTS_FILE is watched: rotated tokens and webhook secrets take effect without a restart.
    const bots = await watchBots({ config, initial: initialBots, redactor, clients: telegram, logger });
    const subscriber = createWorkerConnection({ ...redisEndpointOf(config), name: 'gateway-settings' });
    subscriber.on('error', (err: Error) => logger.debug({ err }, 'settings subscriber error'));
    const settings = new SettingsStore({ redis, subscriber, prefix: config.QUEUE_PREFIX, logger });
    settings
      .start()
      .catch((err: unknown) => logger.warn({ err }, 'settings: cannot subscribe to changes yet'));

    const gateway = createGateway({
      config,
      bots,
      redis,
      queues,
      logger,
      registry: createMetricsRegistry(),
      defaultMetrics: true,
      admin: { telegram, settings },
      redactor,
    });
    const { port, opsPort, adminPort } = await gateway.start();
    return {
      message: `gateway listening on ${config.HOST}:${port} (ops ${opsPort}, admin ${config.ADMIN_HOST}:${adminPort})`,
      details: { port, opsPort, adminPort, host: config.HOST, bots: bots.all().map(bot => bot.name) },
      async stop() {
        bots.stop();
        await gateway.stop();
        await settings.close();
        await closeQueues(queues);
        await Promise.all([closeConnection(redis), closeConnection(subscriber), agent.close()]);
      },
    };
  },
});
