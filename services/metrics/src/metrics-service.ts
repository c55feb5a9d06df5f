import { AuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import {
  OpsListener,
  QUEUE_NAMES,
  QueueStatePoller,
  QueueStateReader,
  traceRequests,
  type Logger,
  type OpsListenerOptions,
  type QueueName,
  type Readiness,
  type RedisClient,
} from '@telegram-receiver/core';
import Koa, { type Context, type Next } from 'koa';
import { collectDefaultMetrics } from 'prom-client';
import pkg from '../package.json' with { type: 'json' };
import type { MetricsConfig } from './env.ts';
import { AccessReviewer } from './external-metrics/access-reviewer.ts';
import { externalMetricsRoutes } from './external-metrics/external-metrics-api.ts';
import { frontProxyAuthentication } from './external-metrics/front-proxy-authentication.ts';
import { FrontProxyConfigWatcher } from './external-metrics/front-proxy-config-watcher.ts';
import { sendStatus } from './external-metrics/k8s-status.ts';
import { TlsServer } from './external-metrics/tls-server.ts';
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
  api?: { app: Koa; server: TlsServer; authConfig: FrontProxyConfigWatcher };
}

const QUEUES: readonly QueueName[] = [QUEUE_NAMES.updates, QUEUE_NAMES.callbacks];

/** Build the service (side-effect free: no listener, no timer, no Redis command until started). */
export function createMetricsService(deps: MetricsServiceDeps): MetricsService {
  const { config, redis, logger, registry } = deps;
  if (deps.defaultMetrics === true) collectDefaultMetrics({ register: registry });
  const collector = new QueueStatePoller({
    reader: new QueueStateReader({ redis, prefix: config.QUEUE_PREFIX }),
    queues: QUEUES,
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
  const kubeConfig = deps.kubeConfig;
  const reviewer = new AccessReviewer({
    api: kubeConfig.makeApiClient(AuthorizationV1Api),
    allowTtlMs: config.METRICS_AUTHZ_CACHE_MS,
    denyTtlMs: config.METRICS_AUTHZ_CACHE_MS,
  });
  const app = new Koa({ proxy: false });
  const routes = externalMetricsRoutes({ collector, reviewer, logger });
  const authConfig = new FrontProxyConfigWatcher({
    kubeConfig,
    logger,
    // Called only once started, after `server` exists.
    onChange: c => server.trustClientCA(c.clientCA),
  });
  app
    .use(traceRequests())
    .use(kubernetesErrors(logger))
    .use(frontProxyAuthentication(() => authConfig.current))
    .use(routes.routes())
    .use(async function notFound(ctx: Context): Promise<void> {
      if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
        sendStatus(ctx, 405, `this API is read-only: ${ctx.method} is not supported`);
        return;
      }
      sendStatus(ctx, 404, `the server could not find the requested resource ${ctx.path.slice(0, 200)}`);
    });
  const server = new TlsServer(app.callback(), {
    certFile: config.METRICS_TLS_CERT_FILE,
    keyFile: config.METRICS_TLS_KEY_FILE,
    reloadIntervalMs: config.METRICS_TLS_RELOAD_MS,
    logger,
  });
  return { collector, ops, api: { app, server, authConfig } };
}

// Anything unexpected is a Kubernetes Status 500 with no detail (the detail goes to the log).
function kubernetesErrors(logger: Logger) {
  return async function kubernetesErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } catch (err) {
      logger.error({ err, path: ctx.path }, 'external metrics API: request failed');
      sendStatus(ctx, 500, 'internal error');
    }
  };
}
