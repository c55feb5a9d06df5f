// The metrics service process: runService reads the environment, builds the logger and handles
// signals; this file connects to Redis, reads the queues every interval, serves them on the ops port
// (and the External Metrics API over TLS when enabled), and closes everything on stop. The only
// module with side effects.
import {
  ConfigError,
  closeConnection,
  createProducerConnection,
  redisEndpointOf,
  runService,
  createMetricsRegistry,
} from '@telegram-receiver/core';
import { metricsEnv } from './env.ts';
import { createMetricsService } from './metrics-service.ts';

await runService({
  name: 'metrics',
  env: metricsEnv,
  // The External Metrics API needs the Kubernetes API (the auth ConfigMap, SubjectAccessReviews):
  // refuse to start without a way to reach it rather than answer 503 forever.
  async prepare(config) {
    if (!config.METRICS_API_ENABLED) return undefined;
    // Loaded only when the API is on: the Kubernetes client is most of this service's code.
    const { KubeConfig } = await import('@kubernetes/client-node');
    const kubeConfig = new KubeConfig();
    if (config.KUBECONFIG !== undefined) {
      try {
        kubeConfig.loadFromFile(config.KUBECONFIG);
      } catch {
        throw new ConfigError([{ name: 'KUBECONFIG', message: 'cannot read this file as a kubeconfig' }]);
      }
    } else if (process.env.KUBERNETES_SERVICE_HOST === undefined) {
      throw new ConfigError([
        {
          name: 'METRICS_API_ENABLED',
          message: 'the External Metrics API needs the Kubernetes API: run in a pod, or set KUBECONFIG',
        },
      ]);
    } else {
      kubeConfig.loadFromCluster();
    }
    return kubeConfig;
  },
  async start({ config, prepared: kubeConfig, logger }) {
    const redis = createProducerConnection({ ...redisEndpointOf(config), name: 'metrics-collector' });
    let redisDown = false;
    redis.on('error', (err: Error) => {
      if (!redisDown) logger.warn({ err }, 'Redis connection error; not ready until it is back');
      redisDown = true;
    });
    redis.on('ready', () => {
      if (redisDown) logger.info('Redis connection is back');
      redisDown = false;
    });
    const service = await createMetricsService({
      config,
      redis,
      logger,
      registry: createMetricsRegistry(),
      defaultMetrics: true,
      kubeConfig,
    });
    // The first read waits for the connection (a fail-fast connection would fail it at once); from
    // then on a failed read means Redis is unreachable.
    redis.once('ready', () => service.collector.start());
    const opsPort = await service.ops.listen(config.OPS_PORT);
    let apiPort: number | undefined;
    if (service.api !== undefined) {
      apiPort = await service.api.server.listen(config.METRICS_API_PORT);
      service.api.authConfig.start();
    }
    return {
      message: `metrics listening (ops port ${opsPort}${apiPort === undefined ? '' : `, External Metrics API ${apiPort} over TLS`})`,
      details: { opsPort, apiPort, intervalMs: config.METRICS_INTERVAL_MS },
      async stop() {
        await Promise.all([service.ops.close(), service.api?.server.close(), service.api?.authConfig.stop()]);
        service.collector.stop();
        await service.collector.settled();
        await closeConnection(redis);
      },
    };
  },
});
