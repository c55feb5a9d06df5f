import type { Router } from '@koa/router';
import {
  ALL_QUEUE_NAMES,
  BOT_NAME_PATTERN,
  QUEUE_NAMES,
  isJobQueue,
  type AnyQueueName,
  type QueueName,
} from '@telegram-receiver/core';
import type { Context, Middleware } from 'koa';
import { z } from 'zod';
import type { DeadLetters } from '../dead-letters.ts';
import { HttpRejection } from '../errors/http-rejection.ts';
import type { JsonBodyState } from '../middleware/json-body.ts';

const queueName = z.enum(ALL_QUEUE_NAMES, {
  error: `queue must be one of ${ALL_QUEUE_NAMES.map(q => `"${q}"`).join(', ')}`,
});
const seconds = z.coerce
  .number()
  .int()
  .min(0)
  .max(10 * 365 * 86_400);
const jobId = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'not a job id');

const listQuery = z.object({
  queue: queueName.optional(),
  bot: z.string().regex(BOT_NAME_PATTERN, 'bot: not a bot name').optional(),
  chat: z
    .string()
    .regex(/^((chat|user):)?-?\d{1,20}$/, 'chat: a chat id, or chat:<id> / user:<id>')
    .optional(),
  reason: z.string().min(1).max(200).optional(),
  min_age: seconds.optional(),
  max_age: seconds.optional(),
  limit: z.coerce.number().int().min(1).max(200).optional(),
  cursor: z.coerce.number().int().min(0).optional(),
});
const replayBody = z.object({ ids: z.array(jobId).min(1).max(500) });

function parsed<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  throw new HttpRejection({
    status: 400,
    body: { ok: false, error: `${where}${issue?.message ?? 'invalid'}` },
  });
}

/** `:queue/:id` of the route, checked. */
function target(ctx: Context): { queue: AnyQueueName; id: string } {
  const params = ctx.params as Record<string, string | undefined>;
  return { queue: parsed(queueName, params.queue), id: parsed(jobId, params.id) };
}

/**
 * A queue whose dead letters can be replayed: a job queue. A still-working notice is not: it is
 * only true when sent on time (hours later the answer may be long there), and it has no chat lane
 * to go back to. The operator discards it instead.
 */
function replayable(queue: AnyQueueName): QueueName {
  if (isJobQueue(queue)) return queue;
  throw new HttpRejection({
    status: 409,
    body: {
      ok: false,
      error: `${queue} dead letters cannot be replayed: a still-working notice is time-bound; discard it (DELETE /admin/dead-letters/${queue}/:id)`,
    },
  });
}

/**
 * The dead-letter part of the operator API (admin listener, behind `X-Admin-Secret`):
 * - `GET /admin/dead-letters?queue=&bot=&chat=&reason=&min_age=&max_age=&limit=&cursor=`: newest first;
 * - `GET /admin/dead-letters/stats`: count and oldest age per queue;
 * - `GET /admin/dead-letters/:queue/:id`: one in full (payload, attempts, errors; secrets scrubbed);
 * - `POST /admin/dead-letters/:queue/replay` `{"ids": […]}` and `POST …/:queue/:id/replay`: back into
 *   their chats' lanes, in order (`updates`, `callbacks`; `notices` answers 409);
 * - `DELETE /admin/dead-letters/:queue/:id`: discard.
 *
 * `:queue` is `updates`, `callbacks` or `notices` (the worker's still-working checks).
 */
export function deadLetterRoutes(
  router: Router,
  opts: { deadLetters: DeadLetters; authenticate: Middleware; body: Middleware },
): void {
  const { deadLetters, authenticate, body } = opts;

  router.get('/admin/dead-letters', authenticate, async function listDeadLetters(ctx: Context) {
    const q = parsed(listQuery, ctx.query);
    const page = await deadLetters.list({
      ...(q.queue === undefined ? {} : { queue: q.queue }),
      ...(q.bot === undefined ? {} : { bot: q.bot }),
      ...(q.chat === undefined ? {} : { chat: q.chat }),
      ...(q.reason === undefined ? {} : { reason: q.reason }),
      ...(q.min_age === undefined ? {} : { minAgeSeconds: q.min_age }),
      ...(q.max_age === undefined ? {} : { maxAgeSeconds: q.max_age }),
      ...(q.limit === undefined ? {} : { limit: q.limit }),
      ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
    });
    ctx.body = { ok: true, queue: q.queue ?? QUEUE_NAMES.updates, ...page };
  });

  router.get('/admin/dead-letters/stats', authenticate, async function deadLetterStats(ctx: Context) {
    ctx.body = { ok: true, queues: await deadLetters.stats() };
  });

  router.get('/admin/dead-letters/:queue/:id', authenticate, async function inspectDeadLetter(ctx: Context) {
    const { queue, id } = target(ctx);
    const item = await deadLetters.inspect(queue, id);
    if (item === undefined) {
      throw new HttpRejection({ status: 404, body: { ok: false, error: 'no such dead letter' } });
    }
    ctx.body = { ok: true, item };
  });

  router.post(
    '/admin/dead-letters/:queue/replay',
    authenticate,
    body,
    async function replayDeadLetters(ctx: Context) {
      const queue = replayable(parsed(queueName, (ctx.params as Record<string, string>).queue));
      const { ids } = parsed(replayBody, (ctx.state as JsonBodyState).body);
      ctx.body = { ok: true, results: await deadLetters.replay(queue, ids) };
    },
  );

  router.post(
    '/admin/dead-letters/:queue/:id/replay',
    authenticate,
    async function replayDeadLetter(ctx: Context) {
      const { queue, id } = target(ctx);
      const [result] = await deadLetters.replay(replayable(queue), [id]);
      if (result?.outcome !== 'replayed') {
        throw new HttpRejection({ status: 404, body: { ok: false, error: 'no such dead letter' } });
      }
      ctx.body = { ok: true, result };
    },
  );

  router.delete(
    '/admin/dead-letters/:queue/:id',
    authenticate,
    async function discardDeadLetter(ctx: Context) {
      const { queue, id } = target(ctx);
      if (!(await deadLetters.discard(queue, id))) {
        throw new HttpRejection({ status: 404, body: { ok: false, error: 'no such dead letter' } });
      }
      ctx.body = { ok: true, discarded: id };
    },
  );
}
