import type { Context } from 'koa';

/** The `reason` of a Kubernetes `Status` for each HTTP code this server answers with. */
const REASONS = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  500: 'InternalError',
  503: 'ServiceUnavailable',
} as const;
export type StatusCode = keyof typeof REASONS;

/**
 * Answer with a `metav1.Status` failure, the error body every Kubernetes client (the HPA
 * controller, kubectl, the aggregator) knows how to read and log.
 */
export function sendStatus(ctx: Context, code: StatusCode, message: string): void {
  ctx.status = code;
  ctx.body = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: REASONS[code],
    code,
  };
}
