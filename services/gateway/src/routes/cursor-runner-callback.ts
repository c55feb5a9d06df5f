import type { Router } from '@koa/router';
import type { Logger, QueueRefs, RedisClient } from '@telegram-receiver/core';
import type { Context, Next } from 'koa';
import type { FailedSecretThrottle } from '../secret-throttle.ts';
import { HttpRejection } from '../errors/http-rejection.ts';
import { normalizeCallback } from '../callback-result.ts';
import { CallbackWriter } from '../callback-writer.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { jsonBody, mayBeLarge, type JsonBodyState } from '../middleware/json-body.ts';
import { SecretCheck } from '../secret-check.ts';

/** Options of {@link cursorRunnerCallbackRoutes}. */
export interface CursorRunnerCallbackOptions {
  /** WEBHOOK_SECRET (every value of a rotation list is accepted); unset → the route answers 503. */
  secret: readonly string[] | undefined;
  queues: QueueRefs;
  /** The producer connection under `queues` (checked before enqueueing: it does not queue offline). */
  redis: RedisClient;
  /** QUEUE_PREFIX (the lanes' key prefix). */
  prefix: string;
  metrics: GatewayMetrics;
  logger: Logger;
  bodyLimit: number;
  /** Answers wrong secrets: 401, or 429 once their address has sent too many. */
  throttle: Pick<FailedSecretThrottle, 'refuse'>;
  retryAfterSeconds: number;
}

/**
 * `POST /cursor-runner/callback`: cursor-runner's result for a prompt. The secret may come in
 * either header cursor-runner sends or in `?secret=`; the body is normalised (camelCase or
 * snake_case) and enqueued on `callbacks` with one job per request id, so a repeated callback is
 * a no-op, in the lane of the prompt's chat (`CallbackWriter`). cursor-runner does not retry, but a 503 is still the honest answer when Redis is down.
 */
export function cursorRunnerCallbackRoutes(router: Router, opts: CursorRunnerCallbackOptions): void {
  const { queues, metrics, logger } = opts;
  const check = opts.secret === undefined ? undefined : new SecretCheck(opts.secret);
  const writer = new CallbackWriter({ queue: queues.callbacks, redis: opts.redis, prefix: opts.prefix });

  async function authenticateCallback(ctx: Context, next: Next): Promise<void> {
    if (check === undefined) {
      throw new HttpRejection({
        status: 503,
        body: { error: 'callback disabled: set WEBHOOK_SECRET' },
        closeConnection: mayBeLarge(ctx.req),
      });
    }
    const headers = ctx.req.headers;
    const presented = headers['x-webhook-secret'] ?? headers['x-cursor-runner-secret'] ?? ctx.query.secret;
    if (!check.matches(presented)) {
      const unauthorized = new HttpRejection({
        status: 401,
        body: { error: 'Unauthorized' },
        closeConnection: mayBeLarge(ctx.req),
      });
      throw await opts.throttle.refuse(ctx.req, 'callback', unauthorized);
    }
    await next();
  }

  async function enqueueCallback(ctx: Context): Promise<void> {
    const normalized = normalizeCallback((ctx.state as JsonBodyState).body);
    if (!normalized.ok) throw new HttpRejection({ status: 400, body: { error: normalized.error } });
    const { result } = normalized;
    const start = performance.now();
    try {
      if (opts.redis.status !== 'ready') throw new Error(`Redis connection is ${opts.redis.status}`);
      await writer.write(result);
    } catch (err) {
      logger.warn(
        { err, requestId: result.requestId },
        'cursor-runner callback not stored: Redis unavailable; answering 503',
      );
      throw new HttpRejection({
        status: 503,
        body: { error: 'callback not stored, retry later' },
        headers: { 'Retry-After': String(opts.retryAfterSeconds) },
        cause: err,
      });
    }
    metrics.enqueueDuration('callbacks', (performance.now() - start) / 1000);
    ctx.body = { received: true, request_id: result.requestId };
  }

  router.post(
    '/cursor-runner/callback',
    authenticateCallback,
    jsonBody({ limit: opts.bodyLimit, errorBody: error => ({ error }) }),
    enqueueCallback,
  );
}
