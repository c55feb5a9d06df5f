// The metrics service process: read and validate the environment, connect to Redis, read the queues
// every interval, serve them on the ops port (and the External Metrics API over TLS when enabled),
// and shut down gracefully on SIGTERM/SIGINT. The only module with side effects.
import { KubeConfig } from '@kubernetes/client-node';
import {
  ConfigError,
  closeConnection,
  createLogger,
  createProducerConnection,
  loadConfig,
  metricsEnv,
  type MetricsConfig,
} from '@telegram-receiver/core';
import { Registry } from 'prom-client';
import { HttpServer } from '../../gateway/src/http-server.ts';
import { createMetricsService } from './metrics-service.ts';

let config: MetricsConfig;
try {
  config = loadConfig(metricsEnv, process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`metrics: invalid configuration (${err.issues.length} problem(s)); not starting`);
  for (const issue of err.issues) console.error(`metrics: ${issue.name}: ${issue.message}`);
  process.exit(1);
}

const redisPassword = URL.canParse(config.REDIS_URL) ? new URL(config.REDIS_URL).password : '';
const logger = createLogger({
  service: 'metrics',
  level: config.LOG_LEVEL,
  secrets: [config.REDIS_URL, redisPassword === '' ? undefined : decodeURIComponent(redisPassword)],
});
process.on('uncaughtException', err => {
  logger.fatal({ err }, 'metrics crashed: uncaught exception');
  process.exit(1);
});
process.on('unhandledRejection', err => {
  logger.fatal({ err }, 'metrics crashed: unhandled promise rejection');
  process.exit(1);
});

const redis = createProducerConnection({ url: config.REDIS_URL, name: 'metrics-collector' });
let redisDown = false;
redis.on('error', (err: Error) => {
  if (!redisDown) logger.warn({ err }, 'Redis connection error; not ready until it is back');
  redisDown = true;
});
redis.on('ready', () => {
  if (redisDown) logger.info('Redis connection is back');
  redisDown = false;
});

let kubeConfig: KubeConfig | undefined;
if (config.METRICS_API_ENABLED) {
  kubeConfig = new KubeConfig();
  if (config.KUBECONFIG === undefined) kubeConfig.loadFromCluster();
  else kubeConfig.loadFromFile(config.KUBECONFIG);
}
const service = createMetricsService({
  config,
  redis,
  logger,
  registry: new Registry(),
  defaultMetrics: true,
  kubeConfig,
});
const ops = new HttpServer(service.opsApp.callback());

let stopping = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'metrics shutting down');
  setTimeout(() => {
    logger.error('metrics shutdown took too long; exiting');
    process.exit(1);
  }, config.SHUTDOWN_GRACE_MS + 5000).unref();
  await Promise.all([ops.close(config.SHUTDOWN_GRACE_MS), service.api?.server.close()]);
  await service.api?.authConfig.stop();
  await service.collector.stop();
  await closeConnection(redis);
  logger.info('metrics stopped');
  process.exit(0);
}
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void shutdown(signal));

// The first read waits for the connection (a fail-fast connection would fail it at once); from then
// on a failed read means Redis is unreachable.
if (redis.status === 'ready') service.collector.start();
else redis.once('ready', () => service.collector.start());
try {
  const opsPort = await ops.listen(config.OPS_PORT);
  let apiPort: number | undefined;
  if (service.api !== undefined) {
    apiPort = await service.api.server.listen(config.METRICS_API_PORT);
    service.api.authConfig.start();
  }
  logger.info(
    { opsPort, apiPort },
    `metrics listening on ops ${opsPort}${apiPort ? `, External Metrics API ${apiPort} (TLS)` : ''}`,
  );
} catch (err) {
  logger.fatal({ err }, 'metrics failed to start');
  process.exit(1);
}
