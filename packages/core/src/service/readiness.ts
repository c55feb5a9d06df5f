/**
 * Why a replica is not ready. One list for every service, so dashboards and runbooks read one
 * vocabulary:
 * - `starting`: not connected yet (the service is still starting);
 * - `redis_unavailable`: Redis does not accept a command within the probe's deadline;
 * - `workers_not_running`: a BullMQ worker of this process has stopped fetching jobs;
 * - `shutting_down`: SIGTERM received; the load balancer should stop sending.
 */
export type NotReadyReason = 'starting' | 'redis_unavailable' | 'workers_not_running' | 'shutting_down';

/** The answer of a readiness check. */
export type Readiness = { ready: true } | { ready: false; reason: NotReadyReason };

/** Anything that can say whether this replica is ready (it bounds its own time). */
export interface ReadinessCheck {
  check(): Promise<Readiness>;
}

/** The JSON body of `/health` (liveness: no I/O). */
export interface HealthBody {
  status: 'healthy';
  service: string;
  version: string;
}

/** `/ready`'s status code and JSON body: `{status:'ready'}` or 503 `{status:'not_ready', reason}`. */
export function readinessResponse(answer: Readiness): {
  status: 200 | 503;
  body: { status: 'ready' } | { status: 'not_ready'; reason: NotReadyReason };
} {
  return answer.ready
    ? { status: 200, body: { status: 'ready' } }
    : { status: 503, body: { status: 'not_ready', reason: answer.reason } };
}
