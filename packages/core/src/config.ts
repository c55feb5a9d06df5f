import { z } from 'zod';
import { ConfigError, type ConfigIssue } from './errors/config-error.ts';

/**
 * The environment variables every service shares, and the helpers each service's own schema
 * (`services/<name>/src/env.ts`) is built with. Each service validates its schema once at start-up
 * ({@link loadConfig}, called by `runService`); library code never reads `process.env`.
 * Names follow the seed system where it has one (see docs/configuration.md).
 */

/** A TCP port (1–65535) with a default. */
export const envPort = (def: number) => z.coerce.number().int().min(1).max(65535).default(def);
/** A positive integer up to `max`, with a default. */
export const envPositiveInt = (def: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(1).max(max).default(def);
/** An http(s) URL without its trailing slash, with a default. */
export const envHttpUrl = (def: string) =>
  z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://host:port' })
    .default(def)
    .transform(u => u.replace(/\/+$/, ''));
/** An optional secret (its name must be in {@link SECRET_ENV_VARS}). */
export const envOptionalSecret = () => z.string().min(1).optional();
/**
 * A secret that may be given as a comma-separated list, for rotation: every listed value is
 * accepted, and the first is the one this side sends. Unset or blank: `undefined`.
 */
export const envSecretList = () =>
  z
    .string()
    .optional()
    .transform(v => {
      const list = [...new Set((v ?? '').split(',').map(e => e.trim()))].filter(e => e !== '');
      return list.length === 0 ? undefined : list;
    });
/** A comma-separated list of `host:port` (IPv6 in brackets); unset or blank: `undefined`. */
export const envHostPortList = () =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      const list = (v ?? '')
        .split(',')
        .map(e => e.trim())
        .filter(e => e !== '');
      if (list.length === 0) return undefined;
      const nodes = list.map(entry => {
        const match = /^([A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:]+\]):(\d{1,5})$/.exec(entry);
        const port = Number(match?.[2]);
        if (match === null || port < 1 || port > 65535) return undefined;
        return { host: (match[1] as string).replace(/^\[|\]$/g, ''), port };
      });
      if (nodes.some(n => n === undefined)) {
        ctx.addIssue({ code: 'custom', message: 'must be a comma-separated list of host:port' });
        return z.NEVER;
      }
      return nodes as { host: string; port: number }[];
    });
/** Telegram's rule for secret_token: 1–256 characters of A-Z a-z 0-9 _ - */
export const TELEGRAM_SECRET_PATTERN = /^[A-Za-z0-9_-]{1,256}$/;
export const BOT_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/** Names of the variables that hold secrets: their values are never echoed in errors or logs. */
export const SECRET_ENV_VARS: ReadonlySet<string> = new Set([
  'TELEGRAM_BOT_TOKEN',
  'TELEGRAM_WEBHOOK_SECRET',
  'WEBHOOK_SECRET',
  'ADMIN_SECRET',
  'ELEVENLABS_API_KEY',
  'REDIS_URL',
  'REDIS_SENTINEL_PASSWORD',
]);

const DEFAULT_QUEUE_PREFIX = 'tr';

/** The variables every service reads: runtime, Redis, bots, shared secret, shutdown. */
export const commonEnv = {
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
  REDIS_SENTINELS: envHostPortList().describe(
    'Redis Sentinel: host:port of the sentinels, comma-separated; the master is asked of them (REDIS_URL then gives only password, db and TLS).',
  ),
  REDIS_SENTINEL_MASTER: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,128}$/, 'letters, digits, . _ - only')
    .default('mymaster')
    .describe('The master name the sentinels monitor.'),
  REDIS_SENTINEL_PASSWORD: envOptionalSecret().describe(
    'Password of the sentinels themselves (secret), if any.',
  ),
  REDIS_CLUSTER_NODES: envHostPortList().describe(
    'Redis Cluster: seed nodes host:port, comma-separated (REDIS_URL then gives only user, password, TLS); QUEUE_PREFIX needs a hash tag such as {tr}.',
  ),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_{}-]{1,64}$/, 'letters, digits, _ - { } only')
    .default(DEFAULT_QUEUE_PREFIX)
    .describe('Prefix of every Redis key (BullMQ prefix). Use a hash tag such as {tr} on Redis Cluster.'),
  BOT_NAME: z
    .string()
    .regex(BOT_NAME_PATTERN, 'lower-case letters, digits, _ and -, at most 32')
    .default('default')
    .describe('Name of the bot configured by TELEGRAM_BOT_TOKEN (used in /telegram/webhook/:bot).'),
  TELEGRAM_BOT_TOKEN: envOptionalSecret().describe(
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
  BOTS_FILE_RELOAD_MS: envPositiveInt(5000, 3_600_000).describe(
    'How often BOTS_FILE is read again; a valid change is put in force without a restart, an invalid one refused.',
  ),
  BOTS_SECRET_OVERLAP_SECONDS: envPositiveInt(3600, 7 * 86_400).describe(
    'After a bots-file change, how long old webhook secrets (and removed bots) are still honoured.',
  ),
  WEBHOOK_SECRET: envSecretList().describe(
    'Shared secret of the cursor-runner callback (secret); a comma-separated list during a rotation: all are accepted, the first is sent. Unset: callbacks answer 503.',
  ),
  SHUTDOWN_GRACE_MS: envPositiveInt(10_000, 600_000).describe('How long SIGTERM waits for in-flight work.'),
};

/** The shape every service's env schema spreads (`{ ...commonEnv, ... }`). */
export type CommonEnv = typeof commonEnv;
/** The settings every service has (see {@link commonEnv}). */
export type CommonConfig = z.output<z.ZodObject<CommonEnv>>;

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
  const issues: ConfigIssue[] = parsed.success
    ? []
    : parsed.error.issues.map(issue => {
        const name = String(issue.path[0] ?? '(config)');
        const raw = input[name];
        const got = raw === undefined || SECRET_ENV_VARS.has(name) ? '' : ` (got "${raw.slice(0, 80)}")`;
        return { name, message: `${issue.message}${got}` };
      });
  if ('REDIS_CLUSTER_NODES' in shape) {
    const named = new Set(issues.map(i => i.name));
    issues.push(...redisTopologyIssues(input).filter(i => !named.has(i.name)));
  }
  if (parsed.success && issues.length === 0) return parsed.data;
  throw new ConfigError(issues);
}

/**
 * A hash tag: the first `{` of the prefix and a `}` after it in the prefix, with something between.
 * Redis Cluster hashes only that part of a key, so every `<prefix>:…` key lands in one slot.
 */
const HASH_TAG = /^[^{]*\{[^}]+\}/;

/** True when every key that starts with `prefix` hashes to the prefix's hash tag (one Cluster slot). */
function hasHashTag(prefix: string): boolean {
  return HASH_TAG.test(prefix);
}

// The Redis settings that only make sense together, checked on the raw (trimmed, non-blank) input.
function redisTopologyIssues(input: Record<string, string>): ConfigIssue[] {
  const listed = (v: string | undefined) => (v ?? '').split(',').some(e => e.trim() !== '');
  if (!listed(input.REDIS_CLUSTER_NODES)) return [];
  const issues: ConfigIssue[] = [];
  if (listed(input.REDIS_SENTINELS)) {
    issues.push({
      name: 'REDIS_CLUSTER_NODES',
      message: 'set REDIS_SENTINELS (Sentinel) or REDIS_CLUSTER_NODES (Cluster), not both',
    });
  }
  const prefix = input.QUEUE_PREFIX ?? DEFAULT_QUEUE_PREFIX;
  if (!hasHashTag(prefix)) {
    const tagged = `{${prefix.replace(/[{}]/g, '') || 'tr'}}`;
    issues.push({
      name: 'QUEUE_PREFIX',
      message: `on Redis Cluster the prefix needs a hash tag, so that every key (and every script's keys) of the deployment is in one slot: set QUEUE_PREFIX=${tagged} (got "${prefix}")`,
    });
  }
  const url = input.REDIS_URL;
  if (url !== undefined && URL.canParse(url) && !/^\/?0?$/.test(new URL(url).pathname)) {
    issues.push({ name: 'REDIS_URL', message: 'Redis Cluster has only database 0: remove the /<db> path' });
  }
  return issues;
}

/** Rows for docs/configuration.md: name, default, description. */
export function describeEnv(shape: z.ZodRawShape): { name: string; default: string; doc: string }[] {
  return Object.entries(shape).map(([name, schema]) => {
    const parsed = z.object({ v: schema as z.ZodType }).safeParse({});
    const def = parsed.success && parsed.data.v !== undefined ? String(parsed.data.v) : '';
    return { name, default: def, doc: (schema as z.ZodType).description ?? '' };
  });
}
