import {
  ALL_QUEUE_NAMES,
  OpsListener,
  QueueStatePoller,
  QueueStateReader,
  type Logger,
  type OpsListenerOptions,
  type Readiness,
  type RedisClient,
} from '@telegram-receiver/core';
import type { KubeConfig } from '@kubernetes/client-node';
import { collectDefaultMetrics } from 'prom-client';
import pkg from '../package.json' with { type: 'json' };
import type { MetricsConfig } from './env.ts';
import type { createExternalMetricsApi } from './external-metrics/external-metrics-server.ts';
import { registerQueueGauges } from './queue-gauges.ts';
import { queuesResponse } from './queues-response.ts';

/** What {@link createMetricsService} needs; the caller creates and closes the connection. */
export interface MetricsServiceDeps {
  /** Validated settings (`loadConfig(metricsEnv, env)`). */
  config: MetricsConfig;
  /** A fail-fast connection (`createProducerConnection`): a read fails at once while Redis is away. */
  redis: RedisClient;
  logger: Logger;
  /** The ops listener's registry (the shared shell decides its type and format). */
  registry: OpsListenerOptions['registry'];
  /** Register prom-client's default Node metrics (process hooks: `main.ts` only). @defaultValue false */
  defaultMetrics?: boolean;
  /** Required when `config.METRICS_API_ENABLED`: how to reach the Kubernetes API. */
  kubeConfig?: KubeConfig;
}

/** The metrics service: the collector, the ops listener and, when enabled, the External Metrics API. */
export interface MetricsService {
  collector: QueueStatePoller;
  /** Ops listener: /metrics, /queues, /health, /ready. */
  ops: OpsListener;
  /** The External Metrics API app (served over TLS by `server`), when enabled. */
  api?: ReturnType<typeof createExternalMetricsApi>;
}

/** Build the service (side-effect free: no listener, no timer, no Redis command until started). */
export async function createMetricsService(deps: MetricsServiceDeps): Promise<MetricsService> {
  const { config, redis, logger, registry } = deps;
  if (deps.defaultMetrics === true) collectDefaultMetrics({ register: registry });
  const collector = new QueueStatePoller({
    reader: new QueueStateReader({ redis, prefix: config.QUEUE_PREFIX }),
    // Every queue, in one MULTI: the job queues' scaling signal and every queue's dead letters.
    queues: ALL_QUEUE_NAMES,
    intervalMs: config.METRICS_INTERVAL_MS,
    maxAgeMs: config.METRICS_MAX_AGE_MS,
    logger,
  });
  registerQueueGauges(registry, collector);
  // Ready when the latest read of the queues succeeded: a replica that cannot read Redis has
  // nothing true to say, so the Service stops sending it scrapes and scaler queries.
  const readiness = {
    async check(): Promise<Readiness> {
      const status = collector.status;
      if (status === 'reading') return { ready: true };
      return { ready: false, reason: status === 'starting' ? 'starting' : 'redis_unavailable' };
    },
  };
  const ops = new OpsListener({
    service: 'telegram-receiver-metrics',
    version: pkg.version,
    registry,
    readiness,
    routes: { '/queues': async () => queuesResponse(collector) },
    logger,
  });

  if (!config.METRICS_API_ENABLED) return { collector, ops };
  if (deps.kubeConfig === undefined) throw new Error('METRICS_API_ENABLED needs a kubeConfig');
  // Loaded only when enabled: the Kubernetes client is most of this service's code.
  const external = await import('./external-metrics/external-metrics-server.ts');
  const api = external.createExternalMetricsApi({ config, collector, logger, kubeConfig: deps.kubeConfig });
  return { collector, ops, api };
}
