import type { Router } from '@koa/router';
import type { Context } from 'koa';
import type { ReadinessProbe } from '../readiness.ts';

/** Options of {@link healthRoutes}. */
export interface HealthRoutesOptions {
  readiness: ReadinessProbe;
  /** Reported by /health. */
  version: string;
}

const SERVICE = 'telegram-receiver-gateway';

/**
 * `GET /health` (liveness: no I/O, so a slow Redis never gets the pod restarted) and `GET /ready`
 * (readiness: Redis accepts a write, cached; not ready once shutdown has begun).
 */
export function healthRoutes(router: Router, opts: HealthRoutesOptions): void {
  const healthy = Object.freeze({ status: 'healthy', service: SERVICE, version: opts.version });

  router.get('/health', async function health(ctx: Context): Promise<void> {
    ctx.body = healthy;
  });

  router.get('/ready', async function ready(ctx: Context): Promise<void> {
    const answer = await opts.readiness.check();
    ctx.set('Cache-Control', 'no-store');
    if (answer.ready) {
      ctx.body = { status: 'ready' };
    } else {
      ctx.status = 503;
      ctx.body = { status: 'not_ready', reason: answer.reason };
    }
  });
}
