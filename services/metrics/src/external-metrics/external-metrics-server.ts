import { AuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { traceRequests, type Logger, type QueueStatePoller } from '@telegram-receiver/core';
import Koa, { type Context, type Next } from 'koa';
import type { MetricsConfig } from '../env.ts';
import { AccessReviewer } from './access-reviewer.ts';
import { externalMetricsRoutes } from './external-metrics-api.ts';
import { frontProxyAuthentication } from './front-proxy-authentication.ts';
import { FrontProxyConfigWatcher } from './front-proxy-config-watcher.ts';
import { sendStatus } from './k8s-status.ts';
import { TlsServer } from './tls-server.ts';

/** What {@link createExternalMetricsApi} needs. */
export interface ExternalMetricsApiDeps {
  config: MetricsConfig;
  collector: QueueStatePoller;
  logger: Logger;
  /** How to reach the Kubernetes API (SubjectAccessReviews, the auth ConfigMap). */
  kubeConfig: KubeConfig;
}

/**
 * The External Metrics API app, its TLS server and the watcher of the front-proxy CA (nothing
 * listens or polls until started). Its own module, imported only when `METRICS_API_ENABLED`: the
 * Kubernetes client it needs is most of the metrics service's code.
 */
export function createExternalMetricsApi(deps: ExternalMetricsApiDeps): {
  app: Koa;
  server: TlsServer;
  authConfig: FrontProxyConfigWatcher;
} {
  const { config, collector, logger, kubeConfig } = deps;
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
  return { app, server, authConfig };
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
