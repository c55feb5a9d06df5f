import { isIP } from 'node:net';
import { commonEnv, envHttpUrl, envPort, envPositiveInt, envSecretList } from '@telegram-receiver/core';
import { z } from 'zod';

/** `a.b.c.d`, `a.b.c.d/nn`, an IPv6 address or range. */
function isAddressOrRange(entry: string): boolean {
  const [address = '', bits, extra] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}

/** Every environment variable the gateway reads (documented in docs/configuration.md). */
export const gatewayEnv = {
  ...commonEnv,
  HOST: z.string().min(1).default('0.0.0.0').describe('Listen address of the public listener.'),
  PORT: envPort(3000).describe('Public listener: webhook, callback, health, ready; nothing else.'),
  OPS_PORT: envPort(9101).describe('Ops listener: /health, /ready, /metrics.'),
  ADMIN_HOST: z
    .string()
    .min(1)
    .default('0.0.0.0')
    .describe('Listen address of the admin listener (127.0.0.1 keeps it to the pod/host).'),
  ADMIN_PORT: envPort(9201).describe(
    'Admin listener: webhook registration, settings (X-Admin-Secret). Never expose it publicly.',
  ),
  ADMIN_SECRET: envSecretList().describe(
    'X-Admin-Secret of the admin routes (secret); a comma-separated list during a rotation. Unset: WEBHOOK_SECRET (as the seed).',
  ),
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
  MAX_CONNECTIONS: envPositiveInt(1024, 1_000_000).describe(
    'Open connections per listener at most (more are closed at once): bounds the requests, bodies and batches in flight.',
  ),
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
  REDIS_WAIT_REPLICAS: z.coerce
    .number()
    .int()
    .min(0)
    .max(16)
    .default(0)
    .describe(
      'Replicas that must hold an update before its 200 (Redis WAIT): 1 with Sentinel or Cluster replicas, so an acknowledged update survives a failover.',
    ),
  REDIS_WAIT_TIMEOUT_MS: envPositiveInt(1000, 60_000).describe(
    'How long the webhook waits for REDIS_WAIT_REPLICAS; fewer acknowledgements → 503 + Retry-After.',
  ),
  DEAD_LETTER_RETENTION_HOURS: envPositiveInt(168, 24 * 365).describe(
    'How long an update or callback that failed for good is kept for inspection and replay (admin API).',
  ),
  DEAD_LETTER_MAX: envPositiveInt(100_000, 10_000_000).describe(
    'Most dead letters kept per queue; past it the oldest go first.',
  ),
  AUTH_FAILURE_LIMIT: envPositiveInt(10, 1_000_000).describe(
    'Wrong webhook, callback or admin secrets one address may send per window before it gets 429 (cluster-wide).',
  ),
  AUTH_FAILURE_WINDOW_SECONDS: envPositiveInt(60, 86_400).describe(
    'Window of AUTH_FAILURE_LIMIT; a throttled address gets Retry-After until it ends.',
  ),
  TRUSTED_PROXIES: z
    .string()
    .default('')
    .transform(v =>
      v
        .split(',')
        .map(e => e.trim())
        .filter(e => e !== ''),
    )
    .refine(
      list => list.every(isAddressOrRange),
      'must be a comma-separated list of IP addresses or CIDR ranges',
    )
    .describe(
      'Proxies (IPs or CIDRs, comma-separated) whose X-Forwarded-For names the client; empty: the peer address counts.',
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
