// The webhook is served straight from node:http (hot path) and also mounted on the Koa router, for
// apps driven through `app.callback()`; both entry points run the same handler.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { updateJobId } from '@telegram-receiver/core';
import { RedisServer } from '@telegram-receiver/testing';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BOT_A, messageUpdate, startGateway, type TestGateway } from './harness.ts';

describe('gateway.app.callback() POST /telegram/webhook', () => {
  let server: RedisServer;
  let gw: TestGateway;
  let http: Server;
  let url: string;

  beforeAll(async () => {
    server = await RedisServer.start({ appendOnly: false });
    gw = await startGateway(server);
    http = createServer(gw.gateway.app.callback());
    await new Promise<void>(resolve => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise(resolve => http.close(resolve));
    await gw.close();
    await server.close();
  });

  it('should store the update and answer OK, as the raw entry point does', async () => {
    const answer = await request(`${url}/telegram/webhook/${BOT_A.name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': BOT_A.webhookSecret },
      body: JSON.stringify(messageUpdate(777)),
    });
    expect(answer.statusCode).toBe(200);
    expect(await answer.body.text()).toBe('OK');
    expect(await gw.queues.updates.getJob(updateJobId(BOT_A.name, 777))).toBeDefined();
  });

  it('should refuse a wrong secret with 401 through Koa too', async () => {
    const answer = await request(`${url}/telegram/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': 'wrong' },
      body: JSON.stringify(messageUpdate(778)),
    });
    expect(answer.statusCode).toBe(401);
    await answer.body.dump();
  });

  it('should answer 405 with Allow to GET on the webhook path', async () => {
    const answer = await request(`${url}/telegram/webhook`, { method: 'GET' });
    expect(answer.statusCode).toBe(405);
    expect(answer.headers.allow).toContain('POST');
    await answer.body.dump();
  });
});
