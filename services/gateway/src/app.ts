import type { IncomingMessage } from 'node:http';
import { hostname } from 'node:os';
import { Router } from '@koa/router';
import {
  OpsListener,
  QUEUE_NAMES,
  QueueStateReader,
  SecretRedactor,
  type BotLookup,
  type Logger,
  type QueueRefs,
  type SettingsStore,
  type TelegramClientCache,
  type MetricsRegistry,
  type RedisClient,
  traceRequests,
} from '@telegram-receiver/core';
import Koa from 'koa';
import pkg from '../package.json' with { type: 'json' };
import { BacklogMonitor } from './backlog-monitor.ts';
import { trustedProxies } from './client-address.ts';
import { DeadLetters } from './dead-letters.ts';
import type { GatewayConfig } from './env.ts';
import { HttpServer } from './http-server.ts';
import { FailedSecretThrottle } from './secret-throttle.ts';
import { GatewayMetrics } from './metrics.ts';
import { errorTranslation } from './middleware/error-translation.ts';
import { notFound } from './middleware/not-found.ts';
import { requestMetrics } from './middleware/request-metrics.ts';
import { ReadinessProbe } from './readiness.ts';
import { adminRoutes } from './routes/admin.ts';
import { cursorRunnerCallbackRoutes } from './routes/cursor-runner-callback.ts';
import { healthRoutes } from './routes/health.ts';
import { telegramWebhook } from './routes/telegram-webhook.ts';
import { WebhookInfoPoller } from './webhook-info-poller.ts';

/** What {@link createGateway} needs; the caller creates and closes the connections. */
export interface GatewayDeps {
  /** Validated settings (`loadConfig(gatewayEnv, env)`). */
  config: GatewayConfig;
  bots: BotLookup;
  /** Producer connection (`createProducerConnection`): fails fast while Redis is away. */
  redis: RedisClient;
  /** The queues under `config.QUEUE_PREFIX` (`queueRefs`; BullMQ `Queue`s fit too). */
  queues: QueueRefs;
  logger: Logger;
  registry: MetricsRegistry;
  /**
   * Register prom-client's default Node metrics on `registry` (process hooks: `main.ts` only).
   * @defaultValue false
   */
  defaultMetrics?: boolean;
  /** Poll interval of the backlog monitor. @defaultValue 250 */
  backlogIntervalMs?: number;
  /**
   * How long {@link Gateway.start} waits for the Redis connection before listening anyway (then
   * webhooks answer 503 until Redis is reachable, and /ready says not ready).
   * @defaultValue 5000
   */
  startupRedisWaitMs?: number;
  /** Host name in the readiness probe's key. @defaultValue os.hostname() */
  hostname?: string;
  /**
   * Operator API dependencies. Without `telegram` the set_webhook / webhook_info / delete routes
   * are not mounted; without `settings` neither is `/admin/settings`.
   */
  admin?: { telegram?: TelegramClientCache; settings?: SettingsStore };
  /** Scrubs secrets from dead letters shown to the operator. @defaultValue the bots' tokens and secrets */
  redactor?: SecretRedactor;
}

/**
 * A gateway: the public Koa app and listener, the admin listener and the ops listener. Nothing runs
 * until {@link Gateway.start}.
 */
export interface Gateway {
  /** Public app: webhook, callback, health, ready, and nothing else. */
  app: Koa;
  /** Admin app (its own listener, never exposed): webhook registration and settings. */
  adminApp: Koa;
  /** Ops listener: health, ready, metrics (the same contract in every service). */
  ops: OpsListener;
  backlog: BacklogMonitor;
  /**
   * Listen on `config.PORT`, `config.ADMIN_PORT` and `config.OPS_PORT` (0 = any free port) and start
   * the backlog monitor.
   */
  start(): Promise<{ port: number; opsPort: number; adminPort: number }>;
  /**
   * Graceful stop: not ready, stop accepting, finish requests in flight (up to
   * `config.SHUTDOWN_GRACE_MS`), stop the backlog monitor. Connections and queues stay open: their
   * owner closes them afterwards.
   */
  stop(): Promise<void>;
}

const SERVICE = 'telegram-receiver-gateway';

/** Build the gateway (side-effect free: no listener, no timer, no Redis command until start). */
export function createGateway(deps: GatewayDeps): Gateway {
  const { config, bots, redis, queues, logger, registry } = deps;
  const metrics = new GatewayMetrics({ registry, defaultMetrics: deps.defaultMetrics ?? false });
  const backlog = new BacklogMonitor({
    reader: new QueueStateReader({ redis, prefix: config.QUEUE_PREFIX }),
    queue: QUEUE_NAMES.updates,
    maxBacklog: config.MAX_BACKLOG,
    intervalMs: deps.backlogIntervalMs ?? 250,
    onSample: size => metrics.backlog(queues.updates.name, size),
    logger,
  });
  const readiness = new ReadinessProbe({
    redis,
    key: `${config.QUEUE_PREFIX}:ready:${deps.hostname ?? hostname()}`,
    cacheMs: config.READY_CACHE_MS,
  });
  const version = pkg.version;
  const telegram = deps.admin?.telegram;
  const webhookInfo =
    telegram === undefined || config.WEBHOOK_INFO_INTERVAL_MS === 0
      ? undefined
      : new WebhookInfoPoller({
          bots,
          telegram,
          redis,
          prefix: config.QUEUE_PREFIX,
          registry,
          logger,
          intervalMs: config.WEBHOOK_INFO_INTERVAL_MS,
          holder: deps.hostname ?? hostname(),
        });

  const throttle = new FailedSecretThrottle({
    redis,
    prefix: config.QUEUE_PREFIX,
    limit: config.AUTH_FAILURE_LIMIT,
    windowMs: config.AUTH_FAILURE_WINDOW_SECONDS * 1000,
    trustedProxies: config.TRUSTED_PROXIES.length > 0 ? trustedProxies(config.TRUSTED_PROXIES) : undefined,
    onFailure: (route, outcome) => metrics.authFailure(route, outcome),
    logger,
  });

  const app = new Koa({ proxy: false });
  const publicRouter = new Router();
  healthRoutes(publicRouter, { readiness, service: SERVICE, version });
  const webhook = telegramWebhook({
    bots,
    queues,
    redis,
    prefix: config.QUEUE_PREFIX,
    backlog,
    metrics,
    logger,
    bodyLimit: config.BODY_LIMIT_BYTES,
    retryAfterSeconds: config.RETRY_AFTER_SECONDS,
    throttle,
    replicas: { count: config.REDIS_WAIT_REPLICAS, timeoutMs: config.REDIS_WAIT_TIMEOUT_MS },
  });
  webhook.register(publicRouter);
  cursorRunnerCallbackRoutes(publicRouter, {
    secret: config.WEBHOOK_SECRET,
    queues,
    redis,
    prefix: config.QUEUE_PREFIX,
    metrics,
    logger,
    bodyLimit: config.BODY_LIMIT_BYTES,
    retryAfterSeconds: config.RETRY_AFTER_SECONDS,
    throttle,
  });
  // The webhook opens its own server span, also when it is reached through Koa.
  mount(app, publicRouter, metrics, logger, req => webhook.match(req) !== null);

  // The operator API lives on its own listener, so the public port (the only one an Ingress routes
  // to) cannot reach it whatever the Ingress rules say.
  const adminApp = new Koa({ proxy: false });
  const adminRouter = new Router();
  const deadLetters = new DeadLetters({
    queues,
    redis,
    prefix: config.QUEUE_PREFIX,
    redactor:
      deps.redactor ??
      new SecretRedactor([
        ...(config.WEBHOOK_SECRET ?? []),
        ...bots.all().flatMap(b => [b.token, b.webhookSecret]),
      ]),
  });
  adminRoutes(adminRouter, {
    secret: config.ADMIN_SECRET ?? config.WEBHOOK_SECRET,
    bots,
    telegram: deps.admin?.telegram,
    settings: deps.admin?.settings,
    deadLetters,
    webhookBaseUrl: config.TELEGRAM_WEBHOOK_BASE_URL,
    retryAfterSeconds: config.RETRY_AFTER_SECONDS,
    throttle,
    logger,
  });
  mount(adminApp, adminRouter, metrics, logger);

  const ops = new OpsListener({ service: SERVICE, version, registry, readiness, logger });

  const serverOptions = {
    keepAliveTimeoutMs: config.KEEP_ALIVE_TIMEOUT_MS,
    headersTimeoutMs: config.HEADERS_TIMEOUT_MS,
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    maxRequestsPerSocket: config.MAX_REQUESTS_PER_SOCKET,
    maxConnections: config.MAX_CONNECTIONS,
  };
  let server: HttpServer | undefined;
  let adminServer: HttpServer | undefined;

  return {
    app,
    adminApp,
    ops,
    backlog,
    async start() {
      if (server !== undefined) throw new Error('gateway already started');
      await redisReady(redis, deps.startupRedisWaitMs ?? 5000);
      backlog.start();
      webhookInfo?.start();
      const koa = app.callback();
      // Webhook POSTs go straight to their handler; everything else through Koa.
      server = new HttpServer((req, res) => {
        const bot = webhook.match(req);
        if (bot === null) void koa(req, res);
        else void webhook.handle(req, res, bot);
      }, serverOptions);
      adminServer = new HttpServer(adminApp.callback(), serverOptions);
      const [port, adminPort, opsPort] = await Promise.all([
        server.listen(config.PORT, config.HOST),
        adminServer.listen(config.ADMIN_PORT, config.ADMIN_HOST),
        ops.listen(config.OPS_PORT, config.HOST),
      ]);
      return { port, opsPort, adminPort };
    },
    async stop() {
      readiness.drain();
      if (server !== undefined) {
        await Promise.all([
          server.close(config.SHUTDOWN_GRACE_MS),
          adminServer?.close(config.SHUTDOWN_GRACE_MS),
          ops.close(),
        ]);
      }
      backlog.stop();
      await webhookInfo?.stop();
      await deadLetters.close();
    },
  };
}

/** Resolves when `redis` is ready, or after `waitMs` (whichever first); never rejects. */
async function redisReady(redis: RedisClient, waitMs: number): Promise<void> {
  if (redis.status === 'ready') return;
  let timer: NodeJS.Timeout | undefined;
  let onReady: (() => void) | undefined;
  await new Promise<void>(resolve => {
    onReady = resolve;
    redis.once('ready', onReady);
    timer = setTimeout(resolve, waitMs);
  });
  clearTimeout(timer);
  if (onReady !== undefined) redis.off('ready', onReady);
}

function mount(
  app: Koa,
  router: Router,
  metrics: GatewayMetrics,
  logger: Logger,
  tracesItself?: (req: IncomingMessage) => boolean,
): void {
  app.silent = true;
  app.on('error', (err: unknown) => logger.debug({ err }, 'response stream error'));
  app.use(traceRequests(tracesItself === undefined ? {} : { tracesItself }));
  app.use(requestMetrics(metrics));
  app.use(errorTranslation({ logger, metrics }));
  app.use(router.routes());
  app.use(notFound());
}
