// The operator API against a private redis-server and a small fake Bot API (it records each call
// and can be told to fail), through the real TelegramClient and SettingsStore.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  SettingsStore,
  TelegramClientCache,
  closeConnection,
  createHttpAgent,
  createLogger,
  createWorkerConnection,
} from '@telegram-receiver/core';
import { RedisServer, adminCall } from '@telegram-receiver/testing';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BOT_A, BOT_B, CALLBACK_SECRET, startGateway, storedKeys, type TestGateway } from './harness.ts';

interface Call {
  token: string;
  method: string;
  params: Record<string, unknown>;
}

let server: RedisServer;
let botApi: Server;
let botApiUrl: string;
const calls: Call[] = [];
let failNext: { status: number; description: string } | undefined;

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString();
  return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
}

beforeAll(async () => {
  server = await RedisServer.start();
  botApi = createServer((req, res) => {
    void readJson(req).then(params => {
      const [, token = '', method = ''] = /^\/bot([^/]+)\/(\w+)$/.exec(req.url ?? '') ?? [];
      calls.push({ token, method, params });
      res.setHeader('content-type', 'application/json');
      if (failNext) {
        const { status, description } = failNext;
        failNext = undefined;
        res.statusCode = status;
        res.end(JSON.stringify({ ok: false, error_code: status, description }));
        return;
      }
      const result =
        method === 'getWebhookInfo'
          ? {
              url: 'https://example.test/telegram/webhook/alpha',
              has_custom_certificate: false,
              pending_update_count: 3,
            }
          : true;
      res.end(JSON.stringify({ ok: true, result }));
    });
  });
  await new Promise<void>(resolve => botApi.listen(0, '127.0.0.1', resolve));
  botApiUrl = `http://127.0.0.1:${(botApi.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise(resolve => botApi.close(resolve));
  await server.close();
});

let tg: TestGateway;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  calls.length = 0;
  failNext = undefined;
  const agent = createHttpAgent();
  const logger = createLogger({ service: 'admin-test', level: 'silent' });
  const telegram = new TelegramClientCache({ baseUrl: botApiUrl, agent, maxAttempts: 1 });
  const subscriber = createWorkerConnection({ url: server.url, name: 'admin-test-sub' });
  // The store needs the gateway's producer connection, which startGateway creates: build it lazily.
  let settings: SettingsStore | undefined;
  tg = await startGateway(
    server,
    { TELEGRAM_WEBHOOK_BASE_URL: 'https://bots.example.test/' },
    {
      admin: redis => {
        settings = new SettingsStore({ redis, subscriber, prefix: 'admin-test', logger });
        return { telegram, settings };
      },
    },
  );
  await settings?.start();
  cleanup = async () => {
    await settings?.close();
    await closeConnection(subscriber);
    await agent.close();
  };
});
afterEach(async () => {
  await tg.close();
  await cleanup();
});

const admin = (method: string, path: string, body?: unknown, secret: string | null = CALLBACK_SECRET) =>
  adminCall({ url: tg.adminUrl, secret, method, path, body }).then(({ status, json }) => ({ status, json }));

describe('the admin listener', () => {
  const routes: [string, string][] = [
    ['POST', '/telegram/set_webhook'],
    ['GET', '/telegram/webhook_info'],
    ['DELETE', '/telegram/webhook'],
    ['GET', '/admin/settings'],
    ['PUT', '/admin/settings'],
    ['GET', '/admin/bots'],
  ];

  it('should answer 404 to every admin route on the public port, even with the right secret', async () => {
    for (const [method, path] of routes) {
      const res = await request(`${tg.url}${path}`, {
        method: method as 'GET',
        headers: { 'x-admin-secret': CALLBACK_SECRET, 'content-type': 'application/json' },
        ...(method === 'GET' || method === 'DELETE' ? {} : { body: '{}' }),
      });
      await res.body.dump();
      // DELETE /telegram/webhook shares its path with the public POST: 405 (Allow: POST), as HTTP says.
      const expected = method === 'DELETE' ? 405 : 404;
      expect({ method, path, status: res.statusCode }).toEqual({ method, path, status: expected });
    }
    expect(calls).toEqual([]);
  });

  it('should serve the admin routes on the admin port and nothing public there', async () => {
    expect((await admin('GET', '/admin/settings')).status).toBe(200);
    const webhook = await request(`${tg.adminUrl}/telegram/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': BOT_A.webhookSecret },
      body: JSON.stringify({ update_id: 1 }),
    });
    await webhook.body.dump();
    // Only DELETE is served at that path there: 405, and nothing is stored.
    expect(webhook.statusCode).toBe(405);
    expect(await storedKeys(tg)).toEqual([]);
  });
});

describe('GET /admin/bots', () => {
  it('should list every bot with its id, webhook path and URL, and no token or secret', async () => {
    const answer = await admin('GET', '/admin/bots');
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({
      ok: true,
      bots: [
        {
          name: 'alpha',
          id: 111111,
          webhook_path: '/telegram/webhook/alpha',
          webhook_url: 'https://bots.example.test/telegram/webhook/alpha',
        },
        {
          name: 'beta',
          id: 222222,
          webhook_path: '/telegram/webhook/beta',
          webhook_url: 'https://bots.example.test/telegram/webhook/beta',
        },
      ],
    });
    for (const secret of [BOT_A.token, BOT_A.webhookSecret, BOT_B.token, BOT_B.webhookSecret]) {
      expect(JSON.stringify(answer.json)).not.toContain(secret);
    }
    expect(calls).toEqual([]);
  });

  it('should answer 401 without the admin secret, and 401 with a wrong one', async () => {
    expect((await admin('GET', '/admin/bots', undefined, null)).status).toBe(401);
    expect((await admin('GET', '/admin/bots', undefined, 'wrong')).status).toBe(401);
  });
});

describe('POST /telegram/set_webhook', () => {
  it("should register the first bot's webhook with its secret_token and our defaults", async () => {
    const answer = await admin('POST', '/telegram/set_webhook');
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({
      ok: true,
      message: 'Webhook set successfully',
      bot: 'alpha',
      url: 'https://bots.example.test/telegram/webhook/alpha',
      webhook_info: true,
    });
    expect(calls).toEqual([
      {
        token: BOT_A.token,
        method: 'setWebhook',
        params: {
          url: 'https://bots.example.test/telegram/webhook/alpha',
          max_connections: 40,
          allowed_updates: ['message', 'edited_message', 'callback_query'],
          secret_token: BOT_A.webhookSecret,
        },
      },
    ]);
    expect(JSON.stringify(answer.json)).not.toContain(BOT_A.webhookSecret);
  });

  it('should pick the bot by ?bot= and take url, max_connections, allowed_updates, drop_pending_updates from the body', async () => {
    const answer = await admin('POST', '/telegram/set_webhook?bot=beta', {
      url: 'https://other.example.test/hook',
      max_connections: 100,
      allowed_updates: ['message'],
      drop_pending_updates: true,
    });
    expect(answer.status).toBe(200);
    expect(calls[0]).toEqual({
      token: BOT_B.token,
      method: 'setWebhook',
      params: {
        url: 'https://other.example.test/hook',
        max_connections: 100,
        allowed_updates: ['message'],
        drop_pending_updates: true,
        secret_token: BOT_B.webhookSecret,
      },
    });
  });

  it.each([
    [{ url: 'ftp://x' }],
    [{ url: 'not a url' }],
    [{ max_connections: 0 }],
    [{ max_connections: 101 }],
    [{ max_connections: '40' }],
    [{ allowed_updates: 'message' }],
    [{ allowed_updates: ['Message!'] }],
    [{ drop_pending_updates: 'yes' }],
    [[1, 2]],
  ])('should answer 400 to %j without calling Telegram', async body => {
    const answer = await admin('POST', '/telegram/set_webhook', body);
    expect(answer.status).toBe(400);
    expect(answer.json.ok).toBe(false);
    expect(calls).toEqual([]);
  });

  it('should answer 404 to an unknown bot', async () => {
    const answer = await admin('POST', '/telegram/set_webhook?bot=gamma');
    expect(answer.status).toBe(404);
    expect(calls).toEqual([]);
  });

  it("should answer 502 with Telegram's reason, and no token, when Telegram refuses", async () => {
    failNext = { status: 400, description: `Bad Request: bad webhook: token ${BOT_A.token} rejected` };
    const answer = await admin('POST', '/telegram/set_webhook');
    expect(answer.status).toBe(502);
    expect(String(answer.json.error)).toContain('bad webhook');
    expect(JSON.stringify(answer.json)).not.toContain(BOT_A.token);
  });
});

describe('GET /telegram/webhook_info', () => {
  it("should answer Telegram's webhook info of the bot", async () => {
    const answer = await admin('GET', '/telegram/webhook_info?bot=alpha');
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ ok: true, bot: 'alpha', webhook_info: { pending_update_count: 3 } });
    expect(calls.map(c => c.method)).toEqual(['getWebhookInfo']);
  });
});

describe('DELETE /telegram/webhook', () => {
  it('should delete the webhook, dropping pending updates only when asked', async () => {
    expect((await admin('DELETE', '/telegram/webhook')).json).toEqual({
      ok: true,
      message: 'Webhook deleted successfully',
      bot: 'alpha',
    });
    expect((await admin('DELETE', '/telegram/webhook?bot=beta&drop_pending_updates=true')).status).toBe(200);
    expect(calls.map(c => [c.token, c.params])).toEqual([
      [BOT_A.token, {}],
      [BOT_B.token, { drop_pending_updates: true }],
    ]);
  });
});

describe('/admin/settings', () => {
  it('should read the defaults and store a patch', async () => {
    expect((await admin('GET', '/admin/settings')).json).toEqual({
      ok: true,
      settings: { debug: false, allow_audio_output: false },
    });
    const put = await admin('PUT', '/admin/settings', { debug: true });
    expect(put.json).toEqual({ ok: true, settings: { debug: true, allow_audio_output: false } });
    expect((await admin('GET', '/admin/settings')).json).toMatchObject({ settings: { debug: true } });
  });

  it.each([[{ debug: 'yes' }], [{ unknown: true }], ['[]'], ['{broken']])(
    'should answer 400 to the patch %j',
    async body => {
      const answer = await admin('PUT', '/admin/settings', body);
      expect(answer.status).toBe(400);
      expect(answer.json.ok).toBe(false);
    },
  );
});

describe('admin authentication', () => {
  it.each([
    ['POST', '/telegram/set_webhook'],
    ['GET', '/telegram/webhook_info'],
    ['DELETE', '/telegram/webhook'],
    ['GET', '/admin/settings'],
    ['PUT', '/admin/settings'],
  ])('should answer 401 to %s %s without or with a wrong X-Admin-Secret', async (method, path) => {
    for (const secret of [null, 'wrong', BOT_A.webhookSecret]) {
      const answer = await admin(method, path, method === 'PUT' ? { debug: true } : undefined, secret);
      expect(answer.status).toBe(401);
      expect(answer.json).toEqual({ ok: false, error: 'Unauthorized' });
    }
    expect(calls).toEqual([]);
  });

  it('should not accept the secret in the query string', async () => {
    const answer = await admin('GET', `/admin/settings?admin_secret=${CALLBACK_SECRET}`, undefined, null);
    expect(answer.status).toBe(401);
  });
});

describe('admin API without ADMIN_SECRET or WEBHOOK_SECRET', () => {
  it('should answer 503 "admin API disabled" and never call Telegram', async () => {
    const agent = createHttpAgent();
    const disabled = await startGateway(
      server,
      { WEBHOOK_SECRET: '' },
      { admin: () => ({ telegram: new TelegramClientCache({ baseUrl: botApiUrl, agent }) }) },
    );
    try {
      const res = await request(`${disabled.adminUrl}/telegram/set_webhook`, {
        method: 'POST',
        headers: { 'x-admin-secret': '' },
      });
      expect(res.statusCode).toBe(503);
      expect(await res.body.json()).toEqual({ ok: false, error: 'admin API disabled: set ADMIN_SECRET' });
      expect(calls).toEqual([]);
    } finally {
      await disabled.close();
      await agent.close();
    }
  });
});
