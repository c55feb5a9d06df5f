// Shared set-up of the gateway tests: a gateway in-process on free ports, over a private
// redis-server, with a capturing logger so tests can assert that no secret reaches a log line.
import {
  BotRegistry,
  closeConnection,
  closeQueues,
  createLogger,
  createProducerConnection,
  createQueues,
  loadConfig,
  type BotConfig,
  type Queues,
  createMetricsRegistry,
  type MetricsRegistry,
} from '@telegram-receiver/core';
import { gatewayEnv, type GatewayConfig } from '../src/env.ts';
import { randomName, type RedisServer } from '@telegram-receiver/testing';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { createGateway, type Gateway, type GatewayDeps } from '../src/app.ts';

export const BOT_A: BotConfig = {
  name: 'alpha',
  token: '111111:alpha-token-aaaaaaaaaaaaaaaaaaaaaaaa',
  webhookSecret: 'alpha_secret_Zx81-kq',
};
export const BOT_B: BotConfig = {
  name: 'beta',
  token: '222222:beta-token-bbbbbbbbbbbbbbbbbbbbbbbbb',
  webhookSecret: 'beta_secret_Qw77-mm',
};
export const CALLBACK_SECRET = 'callback-secret-9f8e7d';

export interface TestGateway {
  gateway: Gateway;
  config: GatewayConfig;
  url: string;
  opsUrl: string;
  /** The admin listener (operator API). */
  adminUrl: string;
  prefix: string;
  queues: Queues;
  /** The gateway's producer connection. */
  redis: Redis;
  /** A separate connection for assertions. */
  probe: Redis;
  registry: MetricsRegistry;
  logLines: string[];
  close(): Promise<void>;
}

/** Start a gateway on free ports with its own queue prefix; env overrides go through the real schema. */
export async function startGateway(
  server: RedisServer,
  env: Record<string, string> = {},
  opts: {
    bots?: BotConfig[];
    backlogIntervalMs?: number;
    /** How long start() waits for Redis. @defaultValue 5000 */
    startupRedisWaitMs?: number;
    /** Build the operator API dependencies on the gateway's producer connection. */
    admin?: (redis: Redis) => GatewayDeps['admin'];
  } = {},
): Promise<TestGateway> {
  const prefix = randomName('gw');
  const config: GatewayConfig = {
    ...loadConfig(gatewayEnv, {
      REDIS_URL: server.url,
      QUEUE_PREFIX: prefix,
      WEBHOOK_SECRET: CALLBACK_SECRET,
      LOG_LEVEL: 'debug',
      SHUTDOWN_GRACE_MS: '5000',
      // The getWebhookInfo poller has its own test; here it would add Bot API calls to count.
      WEBHOOK_INFO_INTERVAL_MS: '0',
      ...env,
    }),
    HOST: '127.0.0.1',
    PORT: 0,
    OPS_PORT: 0,
    ADMIN_HOST: '127.0.0.1',
    ADMIN_PORT: 0,
  };
  const logLines: string[] = [];
  const bots = opts.bots ?? [BOT_A, BOT_B];
  const logger = createLogger({
    service: 'gateway-test',
    level: 'debug',
    secrets: [CALLBACK_SECRET, ...bots.flatMap(b => [b.token, b.webhookSecret])],
    destination: { write: (line: string) => void logLines.push(line) },
  });
  const redis = createProducerConnection({
    url: server.url,
    name: 'gateway-test',
    autoPipelining: config.REDIS_AUTO_PIPELINING,
  });
  redis.on('error', () => undefined);
  const queues = createQueues(redis, prefix);
  for (const queue of [queues.updates, queues.callbacks, queues.notices]) queue.on('error', () => undefined);
  const registry = createMetricsRegistry();
  const gateway = createGateway({
    config,
    bots: new BotRegistry(bots),
    redis,
    queues,
    logger,
    registry,
    backlogIntervalMs: opts.backlogIntervalMs ?? 50,
    startupRedisWaitMs: opts.startupRedisWaitMs ?? 5000,
    ...(opts.admin ? { admin: opts.admin(redis) } : {}),
  });
  const { port, opsPort, adminPort } = await gateway.start();
  const probe = new Redis(server.url, { maxRetriesPerRequest: 1 });
  probe.on('error', () => undefined);
  return {
    gateway,
    config,
    url: `http://127.0.0.1:${port}`,
    opsUrl: `http://127.0.0.1:${opsPort}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    prefix,
    queues,
    redis,
    probe,
    registry,
    logLines,
    async close() {
      await gateway.stop();
      await closeQueues(queues);
      await closeConnection(redis);
      probe.disconnect();
    },
  };
}

/** A private-chat text message update. */
export function messageUpdate(updateId: number, chatId = 4242, text = 'hello'): Record<string, unknown> {
  return {
    update_id: updateId,
    message: {
      message_id: updateId,
      date: 1_700_000_000,
      from: { id: chatId, is_bot: false, first_name: 'Test' },
      chat: { id: chatId, type: 'private', first_name: 'Test' },
      text,
    },
  };
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** POST a body (JSON-encoded unless already a string/Buffer) and read the whole answer. */
export async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: payload,
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

export async function get(url: string): Promise<Answer> {
  const res = await request(url);
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

/** POST an update to the webhook with a bot's secret. */
export async function postUpdate(
  tg: TestGateway,
  update: unknown,
  /** `null`: send no secret header. */
  secret: string | null = BOT_A.webhookSecret,
  path = '/telegram/webhook',
): Promise<Answer> {
  return await post(
    `${tg.url}${path}`,
    update,
    secret === null ? {} : { 'x-telegram-bot-api-secret-token': secret },
  );
}

/** Keys that only exist once something was stored (jobs, dedup markers, lanes); not failed-secret counters. */
export async function storedKeys(tg: TestGateway): Promise<string[]> {
  const keys = await tg.probe.keys(`${tg.prefix}:*`);
  return keys.filter(k => !k.endsWith(':meta') && !k.includes(':ready:') && !k.includes(':authfail:')).sort();
}
