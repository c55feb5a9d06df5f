import type { Router } from '@koa/router';
import type { Context } from 'koa';
import type { QueueCollector } from '../queue-collector.ts';

/**
 * `GET /queues`: the last sample as JSON, for KEDA's `metrics-api` scaler (`valueLocation:
 * queues.updates.pendingLanes`). With no sample young enough it answers 503, so the scaler reports
 * an error (and KEDA applies its fallback) instead of scaling on an old number.
 */
export function queuesRoutes(router: Router, collector: Pick<QueueCollector, 'sample'>): void {
  router.get('/queues', async function queues(ctx: Context): Promise<void> {
    ctx.set('Cache-Control', 'no-store');
    const sample = collector.sample();
    if (sample === undefined) {
      ctx.status = 503;
      ctx.body = {
        error: 'no_fresh_sample',
        message: 'the queues could not be read recently; no value is served',
      };
      return;
    }
    ctx.body = {
      sampledAt: new Date(sample.sampledAt).toISOString(),
      ageSeconds: sample.ageSeconds,
      fresh: sample.fresh,
      queues: Object.fromEntries(
        sample.states.map(s => [
          s.queue,
          {
            backlog: s.backlog,
            pendingLanes: s.pendingLanes,
            oldestAgeSeconds: s.oldestAgeSeconds,
            active: s.active,
            waiting: s.waiting,
            paused: s.paused,
          },
        ]),
      ),
    };
  });
}
