import type { Context, Next } from 'koa';
import type { GatewayMetrics } from '../metrics.ts';
import { routeOf } from './error-translation.ts';

/**
 * Counts and times every request by route pattern and final status. Registered outermost, so it
 * sees the status the error translation chose.
 */
export function requestMetrics(metrics: GatewayMetrics) {
  return async function requestMetrics(ctx: Context, next: Next): Promise<void> {
    const start = performance.now();
    try {
      await next();
    } finally {
      metrics.request(routeOf(ctx), ctx.status, (performance.now() - start) / 1000);
    }
  };
}
