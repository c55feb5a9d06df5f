import { z } from 'zod';
import { ConfigError, type ConfigIssue } from './errors/config-error.ts';

/**
 * Every environment variable the services read, with its doc and default. Each service validates
 * its own schema once in `main.ts` ({@link loadConfig}); library code never reads `process.env`.
 * Names follow the seed system where it has one (see docs/configuration.md).
 */

const port = (def: number) => z.coerce.number().int().min(1).max(65535).default(def);
const positiveInt = (def: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(1).max(max).default(def);
const httpUrl = (def: string) =>
  z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://host:port' })
    .default(def)
    .transform(u => u.replace(/\/+$/, ''));
const optionalSecret = () => z.string().min(1).optional();
/** Telegram's rule for secret_token: 1–256 characters of A-Z a-z 0-9 _ - */
export const TELEGRAM_SECRET_PATTERN = /^[A-Za-z0-9_-]{1,256}$/;
export const BOT_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/** Names of the variables that hold secrets: their values are never echoed in errors or logs. */
const SECRET_ENV_VARS = new Set([
  'TELEGRAM_BOT_TOKEN',
  'TELEGRAM_WEBHOOK_SECRET',
  'WEBHOOK_SECRET',
  'ELEVENLABS_API_KEY',
  'REDIS_URL',
]);

const commonEnv = {
  NODE_ENV: z.enum(['development', 'test', 'production']).default('production').describe('Runtime mode.'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('pino log level.'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
    .default('redis://127.0.0.1:6379/0')
    .describe('Redis for queues, dedup, lanes and settings. Use maxmemory-policy noeviction and AOF.'),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_{}-]{1,64}$/, 'letters, digits, _ - { } only')
    .default('tr')
    .describe('Prefix of every Redis key (BullMQ prefix). Use a hash tag such as {tr} on Redis Cluster.'),
  BOT_NAME: z
    .string()
    .regex(BOT_NAME_PATTERN, 'lower-case letters, digits, _ and -, at most 32')
    .default('default')
    .describe('Name of the bot configured by TELEGRAM_BOT_TOKEN (used in /telegram/webhook/:bot).'),
  TELEGRAM_BOT_TOKEN: optionalSecret().describe(
    'Bot API token of the single bot (secret). Unset: no env bot.',
  ),
  TELEGRAM_WEBHOOK_SECRET: z
    .string()
    .regex(
      TELEGRAM_SECRET_PATTERN,
      'must be 1-256 characters of A-Z a-z 0-9 _ - (Telegram secret_token rules)',
    )
    .optional()
    .describe(
      'secret_token Telegram sends in X-Telegram-Bot-Api-Secret-Token; identifies the env bot (secret).',
    ),
  BOTS_FILE: z
    .string()
    .min(1)
    .optional()
    .describe('Path of a JSON file [{"name","token","webhookSecret"}] for many bots (added to the env bot).'),
  WEBHOOK_SECRET: optionalSecret().describe(
    'Shared secret of the cursor-runner callback and the admin routes (secret). Unset: those routes answer 503.',
  ),
  SHUTDOWN_GRACE_MS: positiveInt(10_000, 600_000).describe('How long SIGTERM waits for in-flight work.'),
};

export const gatewayEnv = {
  ...commonEnv,
  HOST: z.string().min(1).default('0.0.0.0').describe('Listen address of the public listener.'),
  PORT: port(3000).describe('Public listener: webhook, callback, health, admin.'),
  OPS_PORT: port(9101).describe('Ops listener: /health, /ready, /metrics.'),
  MAX_BACKLOG: positiveInt(100_000).describe(
    'Waiting updates above which the webhook answers 503 + Retry-After (Telegram keeps and retries).',
  ),
  BODY_LIMIT_BYTES: positiveInt(1_048_576, 64 * 1_048_576).describe(
    'Largest accepted request body (413 above).',
  ),
  RETRY_AFTER_SECONDS: positiveInt(5, 3600).describe(
    'Retry-After sent with 503 (Telegram honours up to 3600).',
  ),
  KEEP_ALIVE_TIMEOUT_MS: positiveInt(65_000).describe(
    'Idle keep-alive timeout; above typical 60 s load-balancer idle timeouts.',
  ),
  HEADERS_TIMEOUT_MS: positiveInt(10_000).describe(
    'Time allowed to receive request headers (slowloris guard).',
  ),
  REQUEST_TIMEOUT_MS: positiveInt(30_000).describe('Time allowed to receive a whole request.'),
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
  TELEGRAM_API_URL: httpUrl('https://api.telegram.org').describe(
    'Bot API base URL (the sandbox in make dev).',
  ),
  TELEGRAM_WEBHOOK_BASE_URL: httpUrl('http://localhost:3000').describe(
    'Public base URL of the gateway; set_webhook registers <base>/telegram/webhook[/<bot>].',
  ),
};

export const workerEnv = {
  ...commonEnv,
  OPS_PORT: port(9102).describe('Ops listener: /health, /ready, /metrics.'),
  UPDATES_CONCURRENCY: positiveInt(32, 1000).describe('Updates processed at once per worker process.'),
  CALLBACKS_CONCURRENCY: positiveInt(32, 1000).describe('Callbacks processed at once per worker process.'),
  TELEGRAM_API_URL: httpUrl('https://api.telegram.org').describe(
    'Bot API base URL (the sandbox in make dev).',
  ),
  TELEGRAM_TIMEOUT_MS: positiveInt(30_000, 600_000).describe(
    'Deadline of one Bot API call, in ms. A send that times out is never repeated.',
  ),
  TELEGRAM_WEBHOOK_BASE_URL: httpUrl('http://localhost:3000').describe(
    'Public base URL of the gateway; cursor-runner posts results to <base>/cursor-runner/callback.',
  ),
  CURSOR_RUNNER_CALLBACK_URL: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe('Full callback URL for cursor-runner when it reaches the gateway by another address.'),
  CURSOR_RUNNER_URL: httpUrl('http://localhost:3001').describe('cursor-runner base URL.'),
  CURSOR_RUNNER_TIMEOUT: positiveInt(30, 3600).describe(
    'Seconds to wait for cursor-runner to acknowledge a prompt.',
  ),
  ELEVENLABS_API_KEY: optionalSecret().describe(
    'ElevenLabs key (secret). Unset: voice in/out answered with a clear reply.',
  ),
  ELEVENLABS_API_URL: httpUrl('https://api.elevenlabs.io').describe(
    'ElevenLabs base URL (the sandbox in make dev).',
  ),
  ELEVENLABS_STT_MODEL_ID: z.string().min(1).default('scribe_v1').describe('Speech-to-text model.'),
  ELEVENLABS_TTS_MODEL_ID: z.string().min(1).default('eleven_turbo_v2_5').describe('Text-to-speech model.'),
  ELEVENLABS_VOICE_ID: z.string().min(1).default('vfaqCOvlrKi4Zp7C2IAm').describe('Text-to-speech voice.'),
  ELEVENLABS_CONCURRENCY: positiveInt(5, 100).describe(
    'ElevenLabs requests in flight at once, cluster-wide (plan limit).',
  ),
};

export const metricsEnv = {
  NODE_ENV: commonEnv.NODE_ENV,
  LOG_LEVEL: commonEnv.LOG_LEVEL,
  REDIS_URL: commonEnv.REDIS_URL,
  QUEUE_PREFIX: commonEnv.QUEUE_PREFIX,
  SHUTDOWN_GRACE_MS: commonEnv.SHUTDOWN_GRACE_MS,
  OPS_PORT: port(9100).describe(
    'Ops listener: /metrics (Prometheus), /queues (KEDA metrics-api), /health, /ready.',
  ),
  METRICS_INTERVAL_MS: positiveInt(1000, 60_000).describe(
    'Time between two reads of the queues (one Redis round trip each, whatever the queue size).',
  ),
  METRICS_MAX_AGE_MS: positiveInt(10_000, 600_000).describe(
    'Age past which the last read is no longer served at all (while Redis is unreachable); younger, it is served with its age.',
  ),
  METRICS_API_ENABLED: z
    .stringbool()
    .default(false)
    .describe('Serve the Kubernetes External Metrics API (external.metrics.k8s.io/v1beta1) over TLS.'),
  METRICS_API_PORT: port(9443).describe(
    'TLS listener of the External Metrics API (the APIService points at it).',
  ),
  METRICS_TLS_CERT_FILE: z
    .string()
    .min(1)
    .default('/etc/telegram-receiver/tls/tls.crt')
    .describe(
      'PEM serving certificate of the External Metrics API (mounted Secret; re-read without a restart).',
    ),
  METRICS_TLS_KEY_FILE: z
    .string()
    .min(1)
    .default('/etc/telegram-receiver/tls/tls.key')
    .describe('PEM private key of the serving certificate.'),
  METRICS_TLS_RELOAD_MS: positiveInt(10_000, 3_600_000).describe(
    'How often the serving certificate files are read again for a rotation.',
  ),
  METRICS_AUTHZ_CACHE_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(300_000)
    .default(10_000)
    .describe('How long a SubjectAccessReview decision is reused (0 = ask every time).'),
  KUBECONFIG: z
    .string()
    .min(1)
    .optional()
    .describe(
      "kubeconfig for a process outside the cluster; unset = the pod's service account (in-cluster).",
    ),
};

export type GatewayConfig = z.output<z.ZodObject<typeof gatewayEnv>>;
export type MetricsConfig = z.output<z.ZodObject<typeof metricsEnv>>;
export type WorkerConfig = z.output<z.ZodObject<typeof workerEnv>>;

/**
 * Validate `env` against `shape`. Empty strings count as unset (so `FOO=` in a .env file falls back
 * to the default). Throws a {@link ConfigError} listing every bad variable; a secret's value is never
 * quoted.
 */
export function loadConfig<S extends z.ZodRawShape>(
  shape: S,
  env: Record<string, string | undefined>,
): z.output<z.ZodObject<S>> {
  const input: Record<string, string> = {};
  for (const key of Object.keys(shape)) {
    const value = env[key];
    if (value !== undefined && value.trim() !== '') input[key] = value.trim();
  }
  const parsed = z.object(shape).safeParse(input);
  if (parsed.success) return parsed.data;
  const issues: ConfigIssue[] = parsed.error.issues.map(issue => {
    const name = String(issue.path[0] ?? '(config)');
    const raw = input[name];
    const got = raw === undefined || SECRET_ENV_VARS.has(name) ? '' : ` (got "${raw.slice(0, 80)}")`;
    return { name, message: `${issue.message}${got}` };
  });
  throw new ConfigError(issues);
}

/** Rows for docs/configuration.md: name, default, description. */
export function describeEnv(shape: z.ZodRawShape): { name: string; default: string; doc: string }[] {
  return Object.entries(shape).map(([name, schema]) => {
    const parsed = z.object({ v: schema as z.ZodType }).safeParse({});
    const def = parsed.success && parsed.data.v !== undefined ? String(parsed.data.v) : '';
    return { name, default: def, doc: (schema as z.ZodType).description ?? '' };
  });
}
