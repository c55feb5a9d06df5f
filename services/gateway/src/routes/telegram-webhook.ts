import type { Router } from '@koa/router';
import {
  JOB_NAMES,
  UPDATE_DEDUP_TTL_MS,
  chatLaneOf,
  laneKey,
  updateJobId,
  type BotConfig,
  type BotRegistry,
  type Logger,
  type Queues,
  type TelegramUpdate,
} from '@telegram-receiver/core';
import type { Redis } from 'ioredis';
import type { Context, Next } from 'koa';
import type { BacklogMonitor } from '../backlog-monitor.ts';
import { HttpRejection } from '../errors/http-rejection.ts';
import type { GatewayMetrics } from '../metrics.ts';
import { jsonBody, mayBeLarge, type JsonBodyState } from '../middleware/json-body.ts';

/** Options of {@link telegramWebhookRoutes}. */
export interface TelegramWebhookOptions {
  bots: BotRegistry;
  queues: Queues;
  /** The producer connection (fail-fast), used for the per-chat lane write. */
  redis: Redis;
  /** QUEUE_PREFIX: the BullMQ prefix and the prefix of the lane keys. */
  prefix: string;
  backlog: BacklogMonitor;
  metrics: GatewayMetrics;
  logger: Logger;
  /** Largest accepted update in bytes. */
  bodyLimit: number;
  /** Retry-After (seconds) sent with 503. */
  retryAfterSeconds: number;
}

const SECRET_HEADER = 'x-telegram-bot-api-secret-token';

// One EVALSHA instead of MULTI/ZADD/PEXPIRE/EXEC: the same atomic write in a quarter of the
// commands, and without ioredis building a Pipeline object (which copies every script BullMQ
// defined on the connection) for each update.
const LANE_ADD_LUA = `
local added = redis.call('ZADD', KEYS[1], ARGV[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return added`;

type LaneAdd = (key: string, updateId: string, ttlMs: number) => Promise<number>;

function defineLaneAdd(redis: Redis): LaneAdd {
  const client = redis as Redis & { trLaneAdd?: LaneAdd };
  if (client.trLaneAdd === undefined) {
    redis.defineCommand('trLaneAdd', { numberOfKeys: 1, lua: LANE_ADD_LUA });
  }
  const command = (client as Redis & { trLaneAdd: LaneAdd }).trLaneAdd;
  return (key, updateId, ttlMs) => command.call(redis, key, updateId, ttlMs);
}
const NOT_DURABLE_LOG_INTERVAL_MS = 5000;

type WebhookState = JsonBodyState & { bot: BotConfig };

/**
 * `POST /telegram/webhook` and `POST /telegram/webhook/:bot`: authenticate by secret token, read
 * and check the update, and answer 200 only once the update is durable in Redis (job + lane
 * entry). Anything that prevents that is a 503 with Retry-After, so Telegram keeps the update and
 * tries again. This is the hot path: no schema library, no per-request logging.
 */
export function telegramWebhookRoutes(router: Router, opts: TelegramWebhookOptions): void {
  const { bots, queues, redis, prefix, backlog, metrics, logger } = opts;
  const retryAfter = { 'Retry-After': String(opts.retryAfterSeconds) };
  const laneAdd = defineLaneAdd(redis);
  const badRequest = (error: string) =>
    new HttpRejection({ status: 400, body: { ok: false, error }, reason: 'bad_request' });
  let lastNotDurableLog = 0;

  async function authenticateTelegram(ctx: Context, next: Next): Promise<void> {
    const presented = ctx.req.headers[SECRET_HEADER];
    const bot = bots.bySecret(typeof presented === 'string' ? presented : undefined);
    const named = (ctx.params as Record<string, string | undefined>).bot;
    // A secret of another bot, or an unknown bot name, gets the same answer as a wrong secret, so
    // the endpoint does not reveal which bot names exist.
    if (bot === undefined || (named !== undefined && named !== bot.name)) {
      throw new HttpRejection({
        status: 401,
        body: 'Unauthorized',
        reason: 'unauthorized',
        closeConnection: mayBeLarge(ctx.req),
      });
    }
    (ctx.state as WebhookState).bot = bot;
    await next();
  }

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

  async function storeUpdate(ctx: Context): Promise<void> {
    const { body, bot } = ctx.state as WebhookState;
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
    const jobId = updateJobId(bot.name, updateId);
    const lane = chatLaneOf(update);
    const start = performance.now();
    let duplicate: boolean;
    try {
      // Both writes are idempotent (job id + dedup key; sorted-set member), so when one fails and
      // Telegram retries, the retry completes the pair without creating a second job.
      const [, laneReply] = await Promise.all([
        queues.updates.add(
          JOB_NAMES.telegramUpdate,
          { bot: bot.name, update, lane, receivedAt: Date.now() },
          { jobId, deduplication: { id: jobId, ttl: UPDATE_DEDUP_TTL_MS } },
        ),
        lane === null ? undefined : writeLane(laneKey(prefix, bot.name, lane), updateId),
      ]);
      // BullMQ answers a deduplicated add with the same job id, so "already stored" is read from the
      // lane write instead (0 = the member was there). Updates without a lane count as new.
      duplicate = laneReply === 0;
    } catch (err) {
      throw notDurable(bot.name, err);
    }
    metrics.enqueueDuration('updates', (performance.now() - start) / 1000);
    metrics.enqueued(bot.name, duplicate ? 'duplicate' : 'new');
    ctx.body = 'OK';
  }

  /** ZADD + PEXPIRE, atomically; resolves with ZADD's reply (1 = added, 0 = was there). */
  async function writeLane(key: string, updateId: number): Promise<number> {
    return await laneAdd(key, String(updateId), UPDATE_DEDUP_TTL_MS);
  }

  const body = jsonBody({
    limit: opts.bodyLimit,
    errorBody: error => ({ ok: false, error }),
    countRejections: true,
  });
  router.post('/telegram/webhook', authenticateTelegram, body, storeUpdate);
  router.post('/telegram/webhook/:bot', authenticateTelegram, body, storeUpdate);
}
