import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { Redis } from 'ioredis';
import { request } from 'undici';
import {
  SettingsStore,
  closeQueues,
  createQueues,
  type BotConfig,
  type Queues,
  type Settings,
  type TelegramUpdate,
} from '@telegram-receiver/core';
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
  /** Epoch ms when the sandbox received the call. */
  at: number;
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
  gatewayOpsUrl: string;
  /** The gateway's admin listener. */
  adminUrl: string;
  sandboxUrl: string;
  workerOpsUrl: string;
  bots: BotConfig[];
  gateway: ServiceProcess;
  /** The first worker process. */
  worker: ServiceProcess;
  /** Every worker process started so far (killed ones included). */
  workers: ServiceProcess[];
  /** Start one more worker process (its ops listener on a free port). */
  addWorker(): Promise<ServiceProcess>;
  prefix: string;
  /** The gateway's queues on their own connection, to see when the pipeline has gone idle. */
  queues: Queues;
  /** POST an update to the gateway as Telegram would (the bot's secret header); returns the status. */
  postUpdate(update: TelegramUpdate, bot?: BotConfig): Promise<number>;
  calls(query: { service?: string; method?: string; chatId?: number }): Promise<RecordedCall[]>;
  /** Wait until `n` successful calls of a Telegram method reached the sandbox for a chat. */
  waitForSent(method: string, chatId: number, n: number, timeoutMs?: number): Promise<RecordedCall[]>;
  fault(rule: Record<string, unknown>): Promise<void>;
  clearFaults(): Promise<void>;
  registerFile(file: { fileId: string; transcript?: string; sizeBytes?: number }): Promise<void>;
  setSettings(patch: Partial<Settings>): Promise<void>;
  /** Wait until neither queue has a job waiting, delayed, prioritized or active. */
  settled(timeoutMs?: number): Promise<void>;
  /** A sample of the worker's /metrics (0 when absent). */
  metric(sample: string): Promise<number>;
  /** GET the worker's /health and return the status code. */
  health(): Promise<number>;
  close(): Promise<void>;
}

/** Options of {@link startStack}. */
export interface StackOptions {
  /** Give the worker an ElevenLabs key. @defaultValue true */
  elevenLabs?: boolean;
  /** Where the worker finds the Bot API. @defaultValue the sandbox */
  telegramUrl?: string;
  /** Where the worker finds cursor-runner. @defaultValue the sandbox */
  cursorRunnerUrl?: string;
  /** Where the worker finds ElevenLabs. @defaultValue the sandbox */
  elevenLabsUrl?: string;
  /** The worker's TELEGRAM_TIMEOUT_MS. @defaultValue the worker's default (30 s) */
  telegramTimeoutMs?: number;
  /** The worker's CURSOR_RUNNER_TIMEOUT, in seconds. @defaultValue 2 */
  cursorRunnerTimeoutSec?: number;
  /** Load the tracing bootstrap in the gateway and the worker, exporting OTLP/HTTP JSON here. */
  otlpEndpoint?: string;
  /** Worker processes to start. @defaultValue 1 */
  workers?: number;
  /** The worker's STILL_WORKING_NOTICE_SECONDS. @defaultValue the worker's default (90 s) */
  stillWorkingNoticeSeconds?: number;
  /** Give redis-server an AOF with `appendfsync always`, so a kill -9 and restart loses nothing acknowledged. @defaultValue false */
  appendOnly?: boolean;
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

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const redis = await RedisServer.start({ appendOnly: opts.appendOnly ?? false, appendFsync: 'always' });
  const dir = await mkdtemp(join(tmpdir(), 'tr-e2e-'));
  const bots = [newBot('alpha'), newBot('beta')];
  const botsFile = join(dir, 'bots.json');
  await writeFile(botsFile, JSON.stringify(bots));
  const [sandboxPort, gatewayPort, gatewayOps, gatewayAdmin] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const adminUrl = `http://127.0.0.1:${gatewayAdmin}`;
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
    ...(opts.otlpEndpoint === undefined
      ? {}
      : {
          OTEL_EXPORTER_OTLP_ENDPOINT: opts.otlpEndpoint,
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
          OTEL_BSP_SCHEDULE_DELAY: '100',
        }),
  };
  const nodeArgs = opts.otlpEndpoint === undefined ? [] : ['--import', '@telegram-receiver/core/register'];
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
    const gateway = await startServiceProcess({
      entry: join(root, 'services/gateway/src/main.ts'),
      env: {
        ...shared,
        OTEL_SERVICE_NAME: 'telegram-receiver-gateway',
        HOST: '127.0.0.1',
        PORT: String(gatewayPort),
        OPS_PORT: String(gatewayOps),
        ADMIN_HOST: '127.0.0.1',
        ADMIN_PORT: String(gatewayAdmin),
      },
      nodeArgs,
      readyLine: 'listening',
    });
    started.push(gateway);
    const workers: ServiceProcess[] = [];
    const opsUrls: string[] = [];
    const addWorker = async () => {
      const opsPort = await freePort();
      const proc = await startServiceProcess({
        entry: join(root, 'services/worker/src/main.ts'),
        env: {
          ...shared,
          OTEL_SERVICE_NAME: 'telegram-receiver-worker',
          OPS_PORT: String(opsPort),
          TELEGRAM_API_URL: opts.telegramUrl ?? sandboxUrl,
          CURSOR_RUNNER_URL: opts.cursorRunnerUrl ?? sandboxUrl,
          CURSOR_RUNNER_TIMEOUT: String(opts.cursorRunnerTimeoutSec ?? 2),
          TELEGRAM_WEBHOOK_BASE_URL: gatewayUrl,
          ELEVENLABS_API_URL: opts.elevenLabsUrl ?? sandboxUrl,
          ...(opts.stillWorkingNoticeSeconds === undefined
            ? {}
            : { STILL_WORKING_NOTICE_SECONDS: String(opts.stillWorkingNoticeSeconds) }),
          ...(opts.telegramTimeoutMs === undefined
            ? {}
            : { TELEGRAM_TIMEOUT_MS: String(opts.telegramTimeoutMs) }),
          ...(opts.elevenLabs === false ? {} : { ELEVENLABS_API_KEY: ELEVENLABS_KEY }),
        },
        nodeArgs,
        readyLine: 'worker listening',
      });
      started.push(proc);
      workers.push(proc);
      opsUrls.push(`http://127.0.0.1:${opsPort}`);
      return proc;
    };
    for (let i = 0; i < (opts.workers ?? 1); i++) await addWorker();
    const worker = workers[0]!;

    const settingsRedis = new Redis(redis.url);
    const settingsSub = new Redis(redis.url);
    // Tests may kill Redis on purpose; ioredis reconnects, so its connection errors are expected.
    for (const c of [settingsRedis, settingsSub]) c.on('error', () => undefined);
    const settings = new SettingsStore({ redis: settingsRedis, subscriber: settingsSub, prefix });
    const queues = createQueues(settingsRedis, prefix);
    const workerOpsUrl = opsUrls[0]!;

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
      gatewayOpsUrl: `http://127.0.0.1:${gatewayOps}`,
      adminUrl,
      sandboxUrl,
      workerOpsUrl,
      bots,
      gateway,
      worker,
      workers,
      addWorker,
      prefix,
      queues,
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
      async settled(timeoutMs = 30_000) {
        const busy = async () => {
          const states = ['waiting', 'delayed', 'prioritized', 'active', 'waiting-children'] as const;
          const [u, c] = await Promise.all([
            queues.updates.getJobCounts(...states),
            queues.callbacks.getJobCounts(...states),
          ]);
          return [...Object.values(u), ...Object.values(c)].reduce((a, b) => a + b, 0);
        };
        await waitFor(async () => (await busy()) === 0, {
          timeoutMs,
          intervalMs: 50,
          message: 'the queues to go idle',
        });
      },
      async metric(sample) {
        const res = await request(`${workerOpsUrl}/metrics`);
        const body = await res.body.text();
        const line = body.split('\n').find(l => l.startsWith(`${sample} `));
        return line === undefined ? 0 : Number(line.split(' ').at(-1));
      },
      async health() {
        const res = await request(`${workerOpsUrl}/health`);
        await res.body.dump();
        return res.statusCode;
      },
      async close() {
        await stopAll();
        await closeQueues(queues);
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

let nextUpdateId = 10_000_000 + Math.floor(Math.random() * 10_000_000);
let nextChatId = 20_000_000 + Math.floor(Math.random() * 10_000_000);

/** A chat id no other test of the run uses. */
export function newChat(): number {
  nextChatId += 1 + Math.floor(Math.random() * 100);
  return nextChatId;
}

/** A private-chat message update (fresh update_id) with the given fields (`text`, `voice`, …). */
export function messageUpdate(chat: number, fields: Record<string, unknown>, messageId = 1): TelegramUpdate {
  nextUpdateId += 1;
  return {
    update_id: nextUpdateId,
    message: {
      message_id: messageId,
      date: Math.floor(Date.now() / 1000),
      from: { id: chat, is_bot: false, first_name: 'E2E' },
      chat: { id: chat, type: 'private', first_name: 'E2E' },
      ...fields,
    },
  };
}

/** A voice note update for a file registered in the sandbox. */
export function voiceUpdate(chat: number, fileId: string, messageId = 1): TelegramUpdate {
  return messageUpdate(
    chat,
    { voice: { file_id: fileId, file_unique_id: `u-${fileId}`, duration: 2, mime_type: 'audio/ogg' } },
    messageId,
  );
}

/** The text of a recorded sendMessage call. */
export function sentText(call: RecordedCall): string {
  return String(call.body.text ?? '');
}

/** Assert that no line the worker process logged holds a bot token, webhook secret or API key. */
export function expectNoSecretLogged(stack: Stack): void {
  const logs = stack.worker.lines.join('\n');
  for (const bot of stack.bots) {
    expect(logs).not.toContain(bot.token);
    expect(logs).not.toContain(bot.webhookSecret);
  }
  expect(logs).not.toContain(ELEVENLABS_KEY);
  expect(logs).not.toContain(WEBHOOK_SECRET);
}
