import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { SettingsStore, type BotConfig, type Settings, type TelegramUpdate } from '@telegram-receiver/core';
import {
  RedisServer,
  freePort,
  randomName,
  startServiceProcess,
  waitFor,
  type ServiceProcess,
} from '@telegram-receiver/testing';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../../..');

/** One recorded sandbox call, as `GET /sandbox/calls` returns it. */
export interface RecordedCall {
  seq: number;
  service: string;
  method: string;
  botId?: string;
  chatId?: number;
  body: Record<string, unknown>;
  status: number;
}

/**
 * The whole pipeline as real processes: a private redis-server, the sandbox (`main.ts`), the gateway
 * (`main.ts`) and the worker (`main.ts`), with two bots from a bots file. Talks to them over HTTP only.
 */
export interface Stack {
  redis: RedisServer;
  gatewayUrl: string;
  sandboxUrl: string;
  workerOpsUrl: string;
  bots: BotConfig[];
  worker: ServiceProcess;
  prefix: string;
  /** POST an update to the gateway as Telegram would (the bot's secret header); returns the status. */
  postUpdate(update: TelegramUpdate, bot?: BotConfig): Promise<number>;
  calls(query: { service?: string; method?: string; chatId?: number }): Promise<RecordedCall[]>;
  /** Wait until `n` successful calls of a Telegram method reached the sandbox for a chat. */
  waitForSent(method: string, chatId: number, n: number, timeoutMs?: number): Promise<RecordedCall[]>;
  fault(rule: Record<string, unknown>): Promise<void>;
  clearFaults(): Promise<void>;
  registerFile(file: { fileId: string; transcript?: string; sizeBytes?: number }): Promise<void>;
  setSettings(patch: Partial<Settings>): Promise<void>;
  close(): Promise<void>;
}

export const WEBHOOK_SECRET = 'e2e-callback-secret-0123456789';
export const ELEVENLABS_KEY = 'e2e-xi-key-0123456789abcdef';

function newBot(name: string): BotConfig {
  const id = String(100_000_000 + Math.floor(Math.random() * 800_000_000));
  return {
    name,
    token: `${id}:${randomName('E2E').replaceAll('-', '_')}_abcdefghijklmnopqrstuv`,
    webhookSecret: randomName('e2e-secret'),
  };
}

export async function startStack(opts: { elevenLabs?: boolean } = {}): Promise<Stack> {
  const redis = await RedisServer.start({ appendOnly: false });
  const dir = await mkdtemp(join(tmpdir(), 'tr-e2e-'));
  const bots = [newBot('alpha'), newBot('beta')];
  const botsFile = join(dir, 'bots.json');
  await writeFile(botsFile, JSON.stringify(bots));
  const [sandboxPort, gatewayPort, gatewayOps, workerOps] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const prefix = randomName('e2e');
  const shared = {
    LOG_LEVEL: 'info',
    NODE_ENV: 'test',
    REDIS_URL: redis.url,
    QUEUE_PREFIX: prefix,
    BOTS_FILE: botsFile,
    WEBHOOK_SECRET,
    TELEGRAM_API_URL: sandboxUrl,
    SHUTDOWN_GRACE_MS: '3000',
  };
  const started: ServiceProcess[] = [];
  const stopAll = async () => {
    for (const proc of started.reverse()) await proc.stop();
  };
  try {
    started.push(
      await startServiceProcess({
        entry: join(root, 'packages/sandbox/src/main.ts'),
        env: {
          LOG_LEVEL: 'info',
          SANDBOX_PORT: String(sandboxPort),
          SANDBOX_HOST: '127.0.0.1',
          SANDBOX_CALLBACK_URL: `${gatewayUrl}/cursor-runner/callback`,
          WEBHOOK_SECRET,
        },
        readyLine: 'listening',
      }),
    );
    started.push(
      await startServiceProcess({
        entry: join(root, 'services/gateway/src/main.ts'),
        env: { ...shared, HOST: '127.0.0.1', PORT: String(gatewayPort), OPS_PORT: String(gatewayOps) },
        readyLine: 'listening',
      }),
    );
    const worker = await startServiceProcess({
      entry: join(root, 'services/worker/src/main.ts'),
      env: {
        ...shared,
        OPS_PORT: String(workerOps),
        CURSOR_RUNNER_URL: sandboxUrl,
        CURSOR_RUNNER_TIMEOUT: '2',
        TELEGRAM_WEBHOOK_BASE_URL: gatewayUrl,
        ELEVENLABS_API_URL: sandboxUrl,
        ...(opts.elevenLabs === false ? {} : { ELEVENLABS_API_KEY: ELEVENLABS_KEY }),
      },
      readyLine: 'worker listening',
    });
    started.push(worker);

    const settingsRedis = new Redis(redis.url);
    const settingsSub = new Redis(redis.url);
    const settings = new SettingsStore({ redis: settingsRedis, subscriber: settingsSub, prefix });

    const json = async (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) => {
      const res = await request(`${sandboxUrl}${path}`, {
        method,
        ...(body === undefined
          ? {}
          : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      });
      const text = await res.body.text();
      if (res.statusCode >= 300) throw new Error(`sandbox ${method} ${path}: ${res.statusCode} ${text}`);
      return text === '' ? undefined : (JSON.parse(text) as unknown);
    };
    const calls = async (q: { service?: string; method?: string; chatId?: number }) => {
      const params = new URLSearchParams();
      if (q.service) params.set('service', q.service);
      if (q.method) params.set('method', q.method);
      if (q.chatId !== undefined) params.set('chat_id', String(q.chatId));
      return ((await json('GET', `/sandbox/calls?${params}`)) as { calls: RecordedCall[] }).calls;
    };

    return {
      redis,
      gatewayUrl,
      sandboxUrl,
      workerOpsUrl: `http://127.0.0.1:${workerOps}`,
      bots,
      worker,
      prefix,
      async postUpdate(update, bot = bots[0]!) {
        const res = await request(`${gatewayUrl}/telegram/webhook`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-telegram-bot-api-secret-token': bot.webhookSecret,
          },
          body: JSON.stringify(update),
        });
        await res.body.dump();
        return res.statusCode;
      },
      calls,
      async waitForSent(method, chatId, n, timeoutMs = 15_000) {
        return await waitFor(
          async () => {
            const got = (await calls({ service: 'telegram', method, chatId })).filter(c => c.status === 200);
            return got.length >= n ? got : undefined;
          },
          { timeoutMs, intervalMs: 50, message: `${n} successful ${method} call(s) for chat ${chatId}` },
        );
      },
      async fault(rule) {
        await json('POST', '/sandbox/faults', rule);
      },
      async clearFaults() {
        await json('DELETE', '/sandbox/faults');
      },
      async registerFile(file) {
        await json('POST', '/sandbox/files', file);
      },
      async setSettings(patch) {
        await settings.update(patch);
      },
      async close() {
        await stopAll();
        await settings.close();
        settingsRedis.disconnect();
        settingsSub.disconnect();
        await redis.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await stopAll();
    await redis.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
