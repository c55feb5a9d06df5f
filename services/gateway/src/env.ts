import { commonEnv, envHttpUrl, envPort, envPositiveInt } from '@telegram-receiver/core';
import { z } from 'zod';

/** Every environment variable the gateway reads (documented in docs/configuration.md). */
export const gatewayEnv = {
  ...commonEnv,
  HOST: z.string().min(1).default('0.0.0.0').describe('Listen address of the public listener.'),
  PORT: envPort(3000).describe('Public listener: webhook, callback, health, admin.'),
  OPS_PORT: envPort(9101).describe('Ops listener: /health, /ready, /metrics.'),
  MAX_BACKLOG: envPositiveInt(100_000).describe(
    'Waiting updates above which the webhook answers 503 + Retry-After (Telegram keeps and retries).',
  ),
  BODY_LIMIT_BYTES: envPositiveInt(1_048_576, 64 * 1_048_576).describe(
    'Largest accepted request body (413 above).',
  ),
  RETRY_AFTER_SECONDS: envPositiveInt(5, 3600).describe(
    'Retry-After sent with 503 (Telegram honours up to 3600).',
  ),
  KEEP_ALIVE_TIMEOUT_MS: envPositiveInt(65_000).describe(
    'Idle keep-alive timeout; above typical 60 s load-balancer idle timeouts.',
  ),
  HEADERS_TIMEOUT_MS: envPositiveInt(10_000).describe(
    'Time allowed to receive request headers (slowloris guard).',
  ),
  REQUEST_TIMEOUT_MS: envPositiveInt(30_000).describe('Time allowed to receive a whole request.'),
  MAX_REQUESTS_PER_SOCKET: z.coerce
    .number()
    .int()
    .min(0)
    .default(1000)
    .describe('Requests per keep-alive connection before it is closed, so Telegram rebalances (0 = no cap).'),
  REDIS_AUTO_PIPELINING: z
    .stringbool()
    .default(true)
    .describe('Send the Redis commands of one event-loop tick as one write (ioredis autopipelining).'),
  READY_CACHE_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(1000)
    .default(1000)
    .describe('How long /ready caches its Redis probe.'),
  WEBHOOK_INFO_INTERVAL_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(3_600_000)
    .default(60_000)
    .describe(
      "How often one replica asks Telegram for each bot's getWebhookInfo (pending updates, last error) for /metrics; 0 = never.",
    ),
  TELEGRAM_API_URL: envHttpUrl('https://api.telegram.org').describe(
    'Bot API base URL (the sandbox in make dev).',
  ),
  TELEGRAM_WEBHOOK_BASE_URL: envHttpUrl('http://localhost:3000').describe(
    'Public base URL of the gateway; set_webhook registers <base>/telegram/webhook[/<bot>].',
  ),
};

/** The gateway's validated settings. */
export type GatewayConfig = z.output<z.ZodObject<typeof gatewayEnv>>;
