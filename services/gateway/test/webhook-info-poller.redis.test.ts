// getWebhookInfo per bot as gauges, polled by one replica at a time (a Redis lease), against the
// sandbox's Bot API.
import {
  BotRegistry,
  TelegramClientCache,
  createHttpAgent,
  createLogger,
  createMetricsRegistry,
} from '@telegram-receiver/core';
import { startSandbox, type Sandbox } from '@telegram-receiver/sandbox';
import { RedisServer, randomName } from '@telegram-receiver/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookInfoPoller } from '../src/webhook-info-poller.ts';

const bots = new BotRegistry([
  {
    name: 'alpha',
    token: '700000001:poller-token-aaaaaaaaaaaaaaaaaaaaaaa',
    webhookSecret: 'poller-secret-a',
  },
  { name: 'beta', token: '700000002:poller-token-bbbbbbbbbbbbbbbbbbbbbbb', webhookSecret: 'poller-secret-b' },
]);

describe('WebhookInfoPoller.poll()', () => {
  let server: RedisServer;
  let redis: Redis;
  let sandbox: Sandbox;
  const agent = createHttpAgent();

  beforeAll(async () => {
    server = await RedisServer.start({ appendOnly: false });
    redis = new Redis(server.url);
    sandbox = await startSandbox();
  });
  afterAll(async () => {
    redis.disconnect();
    await sandbox.close();
    await agent.close();
    await server.close();
  });

  function replica(holder: string, prefix: string) {
    const registry = createMetricsRegistry();
    const telegram = new TelegramClientCache({ baseUrl: sandbox.url, agent });
    const poller = new WebhookInfoPoller({
      bots,
      telegram,
      redis,
      prefix,
      registry,
      logger: createLogger({ service: 'test', level: 'silent' }),
      intervalMs: 60_000,
      holder,
    });
    return { poller, metrics: () => registry.metrics() };
  }

  it('should let one replica at a time report each bot, with no token in the output', async () => {
    const prefix = randomName('wip');
    const a = replica('pod-a', prefix);
    const b = replica('pod-b', prefix);
    expect(await a.poller.poll()).toBe(true);
    expect(await b.poller.poll()).toBe(false);
    expect(await a.poller.poll()).toBe(true);
    const text = await a.metrics();
    expect(text).toContain('telegram_receiver_webhook_pending_updates{bot="alpha"} 0');
    expect(text).toContain('telegram_receiver_webhook_pending_updates{bot="beta"} 0');
    expect(text).toContain('telegram_receiver_webhook_last_error_timestamp_seconds{bot="alpha"} 0');
    expect(await b.metrics()).not.toContain('telegram_receiver_webhook_pending_updates{');
    for (const bot of bots.all()) expect(text).not.toContain(bot.token);
    expect(sandbox.calls({ service: 'telegram', method: 'getWebhookInfo' }).length).toBe(4);

    // The lease lapses when its holder stops renewing it: the other replica takes over.
    await redis.del(`${prefix}:webhook-info:lease`);
    expect(await b.poller.poll()).toBe(true);
    expect(await a.poller.poll()).toBe(false);
    expect(await a.metrics()).not.toContain('telegram_receiver_webhook_pending_updates{');
  });

  it('should report nothing and not throw while Redis is unreachable', async () => {
    const broken = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
    });
    const poller = new WebhookInfoPoller({
      bots,
      telegram: new TelegramClientCache({ baseUrl: sandbox.url, agent }),
      redis: broken,
      prefix: 'x',
      registry: createMetricsRegistry(),
      logger: createLogger({ service: 'test', level: 'silent' }),
      intervalMs: 60_000,
      holder: 'pod-c',
    });
    expect(await poller.poll()).toBe(false);
    broken.disconnect();
  });
});
