import type { Router } from '@koa/router';
import type { Context } from 'koa';
import type { Registry } from 'prom-client';

/** `GET /metrics` (ops listener only): the Prometheus exposition of `registry`. */
export function metricsRoutes(router: Router, registry: Registry): void {
  router.get('/metrics', async function metrics(ctx: Context): Promise<void> {
    ctx.body = await registry.metrics();
    ctx.type = registry.contentType;
  });
}
