import { fileURLToPath } from 'node:url';
import { freePort } from '@telegram-receiver/testing';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type ServerProcess } from '../lib/server-process.ts';
import { updateBodyFactory } from '../lib/update-body.ts';

const entry = (name: string) => fileURLToPath(new URL(`../targets/${name}.ts`, import.meta.url));
const SECRET = 'test-secret-abc';
const env = (port: number) => ({ PORT: String(port), BOT_TOKEN: '1:test-token', WEBHOOK_SECRET: SECRET });
const body = updateBodyFactory({ firstUpdateId: 1 });

let server: ServerProcess | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function post(port: number, payload: string, headers: Record<string, string> = {}) {
  const res = await request(`http://127.0.0.1:${port}/telegram/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: payload,
  });
  return { status: res.statusCode, text: await res.body.text() };
}

describe('raw-http target', () => {
  it('should answer 200 OK after reading the body', async () => {
    const port = await freePort();
    server = await startServer({ entry: entry('raw-http'), port, env: env(port) });
    expect(await post(port, body(0))).toEqual({ status: 200, text: 'OK' });
    expect(await post(port, 'x'.repeat(100_000))).toEqual({ status: 200, text: 'OK' });
  });
});

describe('grammy-koa target', () => {
  it('should answer 200 to an update with the right secret', async () => {
    const port = await freePort();
    server = await startServer({ entry: entry('grammy-koa'), port, env: env(port) });
    expect((await post(port, body(0), { 'x-telegram-bot-api-secret-token': SECRET })).status).toBe(200);
  });

  it('should refuse missing or wrong secrets, malformed and oversized bodies', async () => {
    const port = await freePort();
    server = await startServer({ entry: entry('grammy-koa'), port, env: env(port) });
    const auth = { 'x-telegram-bot-api-secret-token': SECRET };
    expect((await post(port, body(1))).status).toBe(401);
    expect((await post(port, body(1), { 'x-telegram-bot-api-secret-token': `${SECRET}x` })).status).toBe(401);
    expect((await post(port, '{"update_id":', auth)).status).toBe(400);
    expect((await post(port, `{"pad":"${'x'.repeat(2_000_000)}"}`, auth)).status).toBe(413);
  });
});

describe('startServer', () => {
  it('should fail with the child output when the entry crashes on start', async () => {
    const port = await freePort();
    await expect(
      startServer({ entry: fileURLToPath(new URL('./no-such-entry.ts', import.meta.url)), port, env: {} }),
    ).rejects.toThrow(/did not start \(exited with 1\)[\s\S]*no-such-entry/);
  });
});
