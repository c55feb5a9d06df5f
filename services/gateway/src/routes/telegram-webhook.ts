import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Router } from '@koa/router';
import type { Span } from '@opentelemetry/api';
import {
  JOB_NAMES,
  chatLaneOf,
  inProducerSpan,
  inServerSpan,
  type BotLookup,
  type Logger,
  type QueueRefs,
  type TelegramUpdate,
  type RedisClient,
} from '@telegram-receiver/core';
import type { Context } from 'koa';
import type { BacklogMonitor } from '../backlog-monitor.ts';
import type { FailedSecretThrottle } from '../secret-throttle.ts';
import { HttpRejection } from '../errors/http-rejection.ts';
import { sendRaw } from '../http-response.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { mayBeLarge, readJsonRequest, type JsonBodyOptions } from '../middleware/json-body.ts';
import { UpdateBatcher } from '../update-batcher.ts';
import { annotateUpdateSpan } from '../update-span.ts';

/** Options of {@link telegramWebhook}. */
export interface TelegramWebhookOptions {
  bots: BotLookup;
  queues: QueueRefs;
  /** The producer connection (fail-fast), used for the per-chat lane write. */
  redis: RedisClient;
  /** QUEUE_PREFIX: the BullMQ prefix and the prefix of the lane keys. */
  prefix: string;
  backlog: BacklogMonitor;
  metrics: GatewayMetrics;
  logger: Logger;
  /** Largest accepted update in bytes. */
  bodyLimit: number;
  /** Answers wrong secrets: 401, or 429 once their address has sent too many. */
  throttle: Pick<FailedSecretThrottle, 'refuse'>;
  /** Retry-After (seconds) sent with 503. */
  retryAfterSeconds: number;
  /** Most updates written in one Redis batch. @defaultValue 256 */
  maxBatch?: number;
  /** Replicas that must acknowledge a batch before its 200s (REDIS_WAIT_REPLICAS). @defaultValue none */
  replicas?: { count: number; timeoutMs: number };
}

/** The webhook: one handler, reachable straight from node:http (hot path) or through Koa. */
export interface TelegramWebhook {
  /**
   * The bot segment of a `POST /telegram/webhook[/:bot]` request: `null` when the request is not
   * a webhook POST, `undefined` for the path without a bot.
   */
  match(req: IncomingMessage): string | undefined | null;
  /** Answer one webhook request completely (never rejects). */
  handle(req: IncomingMessage, res: ServerResponse, botName: string | undefined): Promise<void>;
  /** Mount the same handler on a Koa router (405 for other methods; apps driven by `app.callback()`). */
  register(router: Router): void;
}

const SECRET_HEADER = 'x-telegram-bot-api-secret-token';
const NOT_DURABLE_LOG_INTERVAL_MS = 5000;
const WEBHOOK_PATH = '/telegram/webhook';
const BOT_SEGMENT = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * `POST /telegram/webhook` and `POST /telegram/webhook/:bot`: authenticate by secret token, read
 * and check the update, and answer 200 only once the update is durable in Redis (job + lane
 * entry). Anything that prevents that is a 503 with Retry-After, so Telegram keeps the update and
 * tries again. This is the hot path: it runs on node:http directly (Koa's per-request context,
 * middleware chain and router cost more than the rest of the request), with no schema library and
 * no per-request logging; Redis writes are batched per event-loop turn ({@link UpdateBatcher}).
 */
export function telegramWebhook(opts: TelegramWebhookOptions): TelegramWebhook {
  const { bots, redis, backlog, metrics, logger } = opts;
  const retryAfter = { 'Retry-After': String(opts.retryAfterSeconds) };
  const batcher = new UpdateBatcher({
    queue: opts.queues.updates,
    redis,
    prefix: opts.prefix,
    maxBatch: opts.maxBatch,
    onBatch: size => metrics.batchSize(size),
    ...(opts.replicas === undefined ? {} : { replicas: opts.replicas }),
  });
  const bodyOptions: JsonBodyOptions = {
    limit: opts.bodyLimit,
    errorBody: error => ({ ok: false, error }),
    countRejections: true,
  };
  const badRequest = (error: string) =>
    new HttpRejection({ status: 400, body: { ok: false, error }, reason: 'bad_request' });
  let lastNotDurableLog = 0;

  function notDurable(bot: string, err: unknown): HttpRejection {
    const now = Date.now();
    if (now - lastNotDurableLog >= NOT_DURABLE_LOG_INTERVAL_MS) {
      lastNotDurableLog = now;
      logger.warn({ err, bot }, 'update not stored: Redis unavailable; answering 503 so Telegram retries');
    }
    return new HttpRejection({
      status: 503,
      body: { ok: false, error: 'update not stored, retry later' },
      reason: 'redis_unavailable',
      headers: retryAfter,
      cause: err,
    });
  }

  /** Returns 'new' or 'duplicate' once durable; throws an HttpRejection otherwise. */
  async function store(
    req: IncomingMessage,
    botName: string | undefined,
    span: Span | undefined,
  ): Promise<'new' | 'duplicate'> {
    const presented = req.headers[SECRET_HEADER];
    const bot = bots.bySecret(typeof presented === 'string' ? presented : undefined);
    // A secret of another bot, or an unknown bot name, gets the same answer as a wrong secret, so
    // the endpoint does not reveal which bot names exist.
    if (bot === undefined || (botName !== undefined && botName !== bot.name)) {
      const unauthorized = new HttpRejection({
        status: 401,
        body: 'Unauthorized',
        reason: 'unauthorized',
        closeConnection: mayBeLarge(req),
      });
      throw await opts.throttle.refuse(req, 'webhook', unauthorized);
    }
    const body = await readJsonRequest(req, bodyOptions);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw badRequest('body must be a JSON object (a Telegram Update)');
    }
    const updateId = (body as { update_id?: unknown }).update_id;
    if (typeof updateId !== 'number' || !Number.isSafeInteger(updateId) || updateId < 0) {
      throw badRequest('update_id must be a non-negative integer');
    }
    if (backlog.full) {
      throw new HttpRejection({
        status: 503,
        body: { ok: false, error: 'backlog full, retry later' },
        reason: 'backlog_full',
        headers: retryAfter,
      });
    }
    // The producer connection does not queue commands while Redis is away, and BullMQ would wait
    // for a connection that never became ready: answer at once instead.
    if (redis.status !== 'ready') {
      throw notDurable(bot.name, new Error(`Redis connection is ${redis.status}`));
    }
    const update = body as TelegramUpdate;
    annotateUpdateSpan(span, bot.name, update, botName === undefined ? WEBHOOK_PATH : `${WEBHOOK_PATH}/:bot`);
    const start = performance.now();
    let isNew: boolean;
    try {
      isNew = await inProducerSpan(
        opts.queues.updates.name,
        JOB_NAMES.telegramUpdate,
        trace => batcher.submit({ bot: bot.name, updateId, update, lane: chatLaneOf(update), trace }),
        { parent: span },
      );
    } catch (err) {
      throw notDurable(bot.name, err);
    }
    metrics.enqueueDuration('updates', (performance.now() - start) / 1000);
    const result = isNew ? 'new' : 'duplicate';
    metrics.enqueued(bot.name, result);
    return result;
  }

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    botName: string | undefined,
  ): Promise<void> {
    const route = botName === undefined ? WEBHOOK_PATH : `${WEBHOOK_PATH}/:bot`;
    await inServerSpan(`POST ${route}`, { 'http.request.method': 'POST', 'http.route': route }, span =>
      answer(req, res, botName, route, span),
    );
  }

  async function answer(
    req: IncomingMessage,
    res: ServerResponse,
    botName: string | undefined,
    route: string,
    span: Span | undefined,
  ): Promise<void> {
    const start = performance.now();
    let status = 200;
    try {
      await store(req, botName, span);
      sendRaw(res, 200, 'OK');
    } catch (err) {
      if (err instanceof HttpRejection) {
        status = err.status;
        if (err.reason !== undefined) metrics.rejection(err.reason);
        sendRaw(res, err.status, err.body, err.headers, err.closeConnection);
      } else {
        status = 500;
        logger.error({ err }, 'webhook failed with an unexpected error');
        if (!res.headersSent) sendRaw(res, 500, { ok: false, error: 'Internal Server Error' });
        else res.destroy();
      }
    } finally {
      span?.setAttribute('http.response.status_code', status);
      metrics.request(route, status, (performance.now() - start) / 1000);
    }
  }

  return {
    match(req) {
      if (req.method !== 'POST') return null;
      const url = req.url ?? '';
      const query = url.indexOf('?');
      let path = query === -1 ? url : url.slice(0, query);
      if (path.length > WEBHOOK_PATH.length + 1 && path.endsWith('/')) path = path.slice(0, -1);
      if (path === WEBHOOK_PATH || path === `${WEBHOOK_PATH}/`) return undefined;
      if (!path.startsWith(`${WEBHOOK_PATH}/`)) return null;
      const segment = path.slice(WEBHOOK_PATH.length + 1);
      // Anything else under the path (encoded or nested) is left to Koa, which answers 404.
      return BOT_SEGMENT.test(segment) ? segment : null;
    },
    handle,
    register(router) {
      const viaKoa = async (ctx: Context) => {
        // The raw handler writes the whole answer; Koa must not touch the response.
        ctx.respond = false;
        await handle(ctx.req, ctx.res, (ctx.params as Record<string, string | undefined>).bot);
      };
      router.post(WEBHOOK_PATH, viaKoa);
      router.post(`${WEBHOOK_PATH}/:bot`, viaKoa);
    },
  };
}
