import type { Router } from '@koa/router';
import { readinessResponse, type HealthBody, type ReadinessCheck } from '@telegram-receiver/core';
import type { Context } from 'koa';

/** Options of {@link healthRoutes}. */
export interface HealthRoutesOptions {
  readiness: ReadinessCheck;
  /** Reported by /health. */
  service: string;
  /** Reported by /health. */
  version: string;
}

/**
 * `GET /health` and `GET /ready` on the public listener too (load balancers probe the port they
 * send to), answering exactly as the ops listener does (`OpsListener` in core).
 */
export function healthRoutes(router: Router, opts: HealthRoutesOptions): void {
  const healthy: HealthBody = Object.freeze({
    status: 'healthy',
    service: opts.service,
    version: opts.version,
  });

  router.get('/health', async function health(ctx: Context): Promise<void> {
    ctx.body = healthy;
  });

  router.get('/ready', async function ready(ctx: Context): Promise<void> {
    const { status, body } = readinessResponse(await opts.readiness.check());
    ctx.set('Cache-Control', 'no-store');
    ctx.status = status;
    ctx.body = body;
  });
}
