import type { Router } from '@koa/router';
import {
  ApiRejectedError,
  InvalidSettingsError,
  SecretRedactor,
  UpstreamUnreachableError,
  type BotConfig,
  type BotLookup,
  type Logger,
  type SettingsStore,
  type TelegramClientCache,
} from '@telegram-receiver/core';
import type { Context, Next } from 'koa';
import { HttpRejection } from '../errors/http-rejection.ts';
import type { DeadLetters } from '../dead-letters.ts';
import type { FailedSecretThrottle } from '../secret-throttle.ts';
import { deadLetterRoutes } from './dead-letters.ts';
import { jsonBody, mayBeLarge, type JsonBodyState } from '../middleware/json-body.ts';
import { SecretCheck } from '../secret-check.ts';

/** Options of {@link adminRoutes}. */
export interface AdminRoutesOptions {
  /** ADMIN_SECRET (else WEBHOOK_SECRET), expected in `X-Admin-Secret`; unset → every admin route answers 503. */
  secret: readonly string[] | undefined;
  bots: BotLookup;
  /** Bot API clients; without it the Telegram webhook routes are not mounted. */
  telegram?: TelegramClientCache | undefined;
  /** Runtime settings; without it `/admin/settings` is not mounted. */
  settings?: SettingsStore | undefined;
  /** Dead letters; without it `/admin/dead-letters` is not mounted. */
  deadLetters?: DeadLetters | undefined;
  /** TELEGRAM_WEBHOOK_BASE_URL: set_webhook's default URL is `<base>/telegram/webhook/<bot>`. */
  webhookBaseUrl: string;
  /** RETRY_AFTER_SECONDS, sent with a 503 when the settings cannot be stored. @defaultValue 5 */
  retryAfterSeconds?: number;
  /** Answers wrong secrets: 401, or 429 once their address has sent too many. */
  throttle: Pick<FailedSecretThrottle, 'refuse'>;
  logger: Logger;
}

/** What set_webhook sends when the request does not say (Telegram's own default is 40). */
export const DEFAULT_MAX_CONNECTIONS = 40;
export const DEFAULT_ALLOWED_UPDATES = ['message', 'edited_message', 'callback_query'];

const ADMIN_BODY_LIMIT = 64 * 1024;
const UPDATE_KIND = /^[a-z_]{1,64}$/;

/**
 * The operator API, on the admin listener, behind `X-Admin-Secret` (ADMIN_SECRET, else WEBHOOK_SECRET;
 * constant time):
 * `POST /telegram/set_webhook`, `GET /telegram/webhook_info`, `DELETE /telegram/webhook` (per bot,
 * `?bot=<name>`, default the first bot), `GET /admin/bots` and `GET/PUT /admin/settings`. set_webhook always sends
 * the bot's configured secret_token, so Telegram's deliveries authenticate against this gateway.
 * Answers follow the seed system (`{"ok":true,...}` / `{"ok":false,"error":...}`).
 */
export function adminRoutes(router: Router, opts: AdminRoutesOptions): void {
  const { bots, telegram, settings, logger } = opts;
  const check = opts.secret === undefined ? undefined : new SecretCheck(opts.secret);
  // Upstream error texts go to the operator; scrub every token and secret first, to be sure (the
  // bots as they are now: the bots file may have been reloaded since start-up).
  const redact = (text: string) =>
    new SecretRedactor([
      ...(opts.secret ?? []),
      ...bots.all().flatMap(b => [b.token, b.webhookSecret]),
    ]).redact(text);
  const fail = (status: number, error: string, headers?: Record<string, string>) =>
    new HttpRejection({ status, body: { ok: false, error }, ...(headers ? { headers } : {}) });

  async function authenticateAdmin(ctx: Context, next: Next): Promise<void> {
    if (check === undefined) {
      throw new HttpRejection({
        status: 503,
        body: { ok: false, error: 'admin API disabled: set ADMIN_SECRET' },
        closeConnection: mayBeLarge(ctx.req),
      });
    }
    if (!check.matches(ctx.req.headers['x-admin-secret'])) {
      const unauthorized = new HttpRejection({
        status: 401,
        body: { ok: false, error: 'Unauthorized' },
        closeConnection: mayBeLarge(ctx.req),
      });
      throw await opts.throttle.refuse(ctx.req, 'admin', unauthorized);
    }
    await next();
  }

  function botOf(ctx: Context, body: Record<string, unknown>): BotConfig {
    const named = ctx.query.bot ?? body.bot;
    if (named === undefined) {
      const first = bots.all()[0];
      if (first === undefined) throw fail(409, 'no bot configured: set TELEGRAM_BOT_TOKEN or BOTS_FILE');
      return first;
    }
    const bot = typeof named === 'string' ? bots.byName(named) : undefined;
    if (bot === undefined) throw fail(404, 'unknown bot: pass ?bot=<name> of a configured bot');
    return bot;
  }

  async function callTelegram<T>(method: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof ApiRejectedError || err instanceof UpstreamUnreachableError) {
        logger.warn({ err, method }, 'admin: Telegram call failed');
        throw fail(502, redact(err.message));
      }
      throw err;
    }
  }

  const objectBody = (ctx: Context): Record<string, unknown> => {
    const body = (ctx.state as JsonBodyState).body;
    if (body === undefined) return {};
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw fail(400, 'body must be a JSON object');
    }
    return body as Record<string, unknown>;
  };
  const optionalBody = jsonBody({
    limit: ADMIN_BODY_LIMIT,
    errorBody: error => ({ ok: false, error }),
    optional: true,
  });
  const requiredBody = jsonBody({ limit: ADMIN_BODY_LIMIT, errorBody: error => ({ ok: false, error }) });

  if (telegram !== undefined) {
    router.post(
      '/telegram/set_webhook',
      authenticateAdmin,
      optionalBody,
      async function setWebhook(ctx: Context) {
        const body = objectBody(ctx);
        const bot = botOf(ctx, body);
        const params = webhookParams(ctx, body, bot, opts.webhookBaseUrl);
        if (typeof params === 'string') throw fail(400, params);
        const result = await callTelegram('setWebhook', () =>
          telegram.get(bot).setWebhook({ ...params, secret_token: bot.webhookSecret }),
        );
        logger.info({ bot: bot.name, url: params.url }, 'admin: webhook set');
        ctx.body = {
          ok: true,
          message: 'Webhook set successfully',
          bot: bot.name,
          url: params.url,
          max_connections: params.max_connections,
          allowed_updates: params.allowed_updates,
          webhook_info: result,
        };
      },
    );

    router.get('/telegram/webhook_info', authenticateAdmin, async function webhookInfo(ctx: Context) {
      const bot = botOf(ctx, {});
      const info = await callTelegram('getWebhookInfo', () => telegram.get(bot).getWebhookInfo());
      ctx.body = { ok: true, bot: bot.name, webhook_info: info };
    });

    router.delete('/telegram/webhook', authenticateAdmin, async function deleteWebhook(ctx: Context) {
      const bot = botOf(ctx, {});
      const drop = ctx.query.drop_pending_updates;
      await callTelegram('deleteWebhook', () =>
        telegram
          .get(bot)
          .deleteWebhook(drop === 'true' || drop === '1' ? { drop_pending_updates: true } : {}),
      );
      logger.info({ bot: bot.name }, 'admin: webhook deleted');
      ctx.body = { ok: true, message: 'Webhook deleted successfully', bot: bot.name };
    });
  }

  // What an operator needs to point Telegram at each bot, never a token or secret (the bot id is
  // the token's public part: getMe answers it to anyone holding the token).
  router.get('/admin/bots', authenticateAdmin, async function listBots(ctx: Context) {
    ctx.body = {
      ok: true,
      bots: bots.all().map(bot => ({
        name: bot.name,
        id: Number(bot.token.slice(0, bot.token.indexOf(':'))),
        webhook_path: `/telegram/webhook/${bot.name}`,
        webhook_url: defaultWebhookUrl(opts.webhookBaseUrl, bot),
      })),
    };
  });

  if (opts.deadLetters !== undefined) {
    deadLetterRoutes(router, {
      deadLetters: opts.deadLetters,
      authenticate: authenticateAdmin,
      body: requiredBody,
    });
  }

  if (settings !== undefined) {
    router.get('/admin/settings', authenticateAdmin, async function getSettings(ctx: Context) {
      ctx.body = { ok: true, settings: await settings.get() };
    });

    router.put('/admin/settings', authenticateAdmin, requiredBody, async function putSettings(ctx: Context) {
      try {
        ctx.body = { ok: true, settings: await settings.update((ctx.state as JsonBodyState).body) };
      } catch (err) {
        if (err instanceof InvalidSettingsError) throw fail(400, err.message);
        logger.warn({ err }, 'admin: settings not stored: Redis unavailable');
        throw fail(503, 'settings not stored: Redis unavailable, retry later', {
          'Retry-After': String(opts.retryAfterSeconds ?? 5),
        });
      }
    });
  }
}

/** Where set_webhook points a bot when the request names no URL. */
function defaultWebhookUrl(base: string, bot: BotConfig): string {
  return `${base}/telegram/webhook/${bot.name}`;
}

interface WebhookParams {
  url: string;
  max_connections: number;
  allowed_updates: string[];
  drop_pending_updates?: boolean;
}

/** set_webhook's parameters from body or query, with our defaults; a string is the 400 message. */
function webhookParams(
  ctx: Context,
  body: Record<string, unknown>,
  bot: BotConfig,
  base: string,
): WebhookParams | string {
  const url = body.url ?? ctx.query.url ?? defaultWebhookUrl(base, bot);
  if (typeof url !== 'string' || url.length > 2048 || !/^https?:\/\//.test(url) || !URL.canParse(url)) {
    return 'url must be an http(s) URL';
  }
  const max = body.max_connections ?? DEFAULT_MAX_CONNECTIONS;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 100) {
    return 'max_connections must be an integer from 1 to 100';
  }
  const allowed = body.allowed_updates ?? DEFAULT_ALLOWED_UPDATES;
  if (
    !Array.isArray(allowed) ||
    allowed.length > 32 ||
    !allowed.every((kind): kind is string => typeof kind === 'string' && UPDATE_KIND.test(kind))
  ) {
    return 'allowed_updates must be a list of update kinds such as "message"';
  }
  const drop = body.drop_pending_updates;
  if (drop !== undefined && typeof drop !== 'boolean') return 'drop_pending_updates must be true or false';
  return {
    url,
    max_connections: max,
    allowed_updates: allowed,
    ...(drop === undefined ? {} : { drop_pending_updates: drop }),
  };
}
