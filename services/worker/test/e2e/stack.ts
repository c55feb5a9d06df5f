import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { Cluster, Redis } from 'ioredis';
import { request } from 'undici';
import {
  SettingsStore,
  closeQueues,
  createQueues,
  type BotConfig,
  type Queues,
  type RedisClient,
  type Settings,
  type TelegramUpdate,
} from '@telegram-receiver/core';
import {
  RedisClusterSet,
  RedisSentinelSet,
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
  /** The redis-server (on a Cluster: its first master; see {@link Stack.cluster}). */
  redis: RedisServer;
  /** The Redis Cluster the processes use, when the stack runs on one. */
  cluster: RedisClusterSet | undefined;
  /** The Sentinel deployment the processes use, when the stack runs on one. */
  sentinel: RedisSentinelSet | undefined;
  /** A new connection to the stack's Redis (a Cluster client on a Cluster); the caller closes it. */
  connect(): RedisClient;
  /** The metrics service's ops listener (`/queues`, `/metrics`), when it runs. */
  metricsUrl: string | undefined;
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
  /**
   * Run on a real Redis Cluster of this many masters instead of one redis-server: every process
   * gets REDIS_CLUSTER_NODES and a hash-tagged QUEUE_PREFIX.
   */
  clusterMasters?: number;
  /** Start the metrics service too. @defaultValue false */
  metrics?: boolean;
  /**
   * Run on a real Sentinel deployment (a master, `replicas` replicas, `sentinels` sentinels) instead
   * of one redis-server: every process gets REDIS_SENTINELS and follows a failover.
   */
  sentinel?: { replicas: number; sentinels: number };
  /** Extra environment of the gateway process (e.g. REDIS_WAIT_REPLICAS). */
  gatewayEnv?: Record<string, string>;
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
  const cluster =
    opts.clusterMasters === undefined
      ? undefined
      : await RedisClusterSet.start({ masters: opts.clusterMasters });
  const sentinel = opts.sentinel === undefined ? undefined : await RedisSentinelSet.start(opts.sentinel);
  const redis =
    cluster?.servers[0] ??
    sentinel?.servers[0] ??
    (await RedisServer.start({ appendOnly: opts.appendOnly ?? false, appendFsync: 'always' }));
  const closeRedis = async () => await (cluster ?? sentinel ?? redis).close();
  // Tests may kill Redis on purpose; ioredis reconnects, so its connection errors are expected.
  const connect = (): RedisClient => {
    const client =
      cluster !== undefined
        ? new Cluster(cluster.nodes, { redisOptions: { maxRetriesPerRequest: null } })
        : sentinel !== undefined
          ? new Redis({
              sentinels: sentinel.sentinels,
              name: sentinel.masterName,
              maxRetriesPerRequest: null,
            })
          : new Redis(redis.url);
    client.on('error', () => undefined);
    return client;
  };
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
  // On a Cluster every key of the deployment shares the prefix's hash tag (one slot).
  const prefix = cluster === undefined ? randomName('e2e') : `{${randomName('e2e')}}`;
  const shared = {
    LOG_LEVEL: 'info',
    NODE_ENV: 'test',
    REDIS_URL: redis.url,
    ...(cluster === undefined
      ? {}
      : { REDIS_CLUSTER_NODES: cluster.nodes.map(n => `${n.host}:${n.port}`).join(',') }),
    ...(sentinel === undefined
      ? {}
      : {
          REDIS_SENTINELS: sentinel.sentinels.map(n => `${n.host}:${n.port}`).join(','),
          REDIS_SENTINEL_MASTER: sentinel.masterName,
        }),
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
        ...opts.gatewayEnv,
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
    let metricsUrl: string | undefined;
    if (opts.metrics === true) {
      const opsPort = await freePort();
      started.push(
        await startServiceProcess({
          entry: join(root, 'services/metrics/src/main.ts'),
          env: { ...shared, OPS_PORT: String(opsPort), METRICS_INTERVAL_MS: '200' },
          readyLine: 'metrics listening',
        }),
      );
      metricsUrl = `http://127.0.0.1:${opsPort}`;
    }

    const settingsRedis = connect();
    const settingsSub = connect();
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
      cluster,
      sentinel,
      connect,
      metricsUrl,
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
        await closeRedis();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await stopAll();
    await closeRedis();
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

/** One prompt of the scenario. */
export interface Prompt {
  chat: number;
  k: number;
  text: string;
  update: TelegramUpdate;
}

/**
 * Telegram's side of one chat: each prompt is delivered after the previous one was accepted (2xx),
 * and re-sent while the gateway answers otherwise (as Telegram retries). `delays` are the callback
 * delays of the prompts; `pauseMs` the user's time between two prompts.
 */
export async function converse(
  s: Stack,
  chat: number,
  delays: number[],
  pauseMs: () => number,
): Promise<Prompt[]> {
  const prompts: Prompt[] = [];
  for (const [k, delay] of delays.entries()) {
    const text = `c${chat} p${k} [[delay:${delay}]]`;
    const update = messageUpdate(chat, { text }, k + 1);
    prompts.push({ chat, k, text, update });
    for (let attempt = 0; ; attempt++) {
      const status = await s.postUpdate(update).catch(() => 0);
      if (status === 200) break;
      if (attempt > 600) throw new Error(`update for chat ${chat} never accepted (last ${status})`);
      await sleep(100); // Telegram's retry after a non-2xx
    }
    const pause = pauseMs();
    if (pause > 0) await sleep(pause);
  }
  return prompts;
}

/** Callback delays that grow along the chat (so its callbacks come back in prompt order), at random. */
export function growingDelays(n: number, firstMax: number, stepMin: number, stepMax: number): number[] {
  const delays: number[] = [];
  let d = Math.floor(Math.random() * firstMax);
  for (let i = 0; i < n; i++) {
    delays.push(d);
    d += stepMin + Math.floor(Math.random() * (stepMax - stepMin));
  }
  return delays;
}

/** Each chat's delivered replies as prompt numbers, in the order the sandbox's Telegram got them. */
export async function repliesByChat(s: Stack, chats: number[]): Promise<Map<number, number[]>> {
  const calls = (await s.calls({ service: 'telegram', method: 'sendMessage' }))
    .filter(c => c.status === 200)
    .sort((a, b) => a.seq - b.seq);
  const wanted = new Set(chats);
  const byChat = new Map<number, number[]>(chats.map(c => [c, []]));
  for (const call of calls) {
    if (call.chatId === undefined || !wanted.has(call.chatId)) continue;
    const m = /\bc(\d+) p(\d+)\b/.exec(sentText(call));
    byChat.get(call.chatId)!.push(m && Number(m[1]) === call.chatId ? Number(m[2]) : -1);
  }
  return byChat;
}

/**
 * Each chat's callbacks as prompt numbers, in the order the gateway stored them (the `added` events
 * of the callbacks queue): the order its replies must follow.
 */
export async function storedCallbacksByChat(
  s: Stack,
  redis: RedisClient,
  chats: number[],
): Promise<Map<number, number[]>> {
  const iterate = await s.calls({ service: 'cursor-runner', method: 'iterate-async' });
  const promptOf = new Map(iterate.map(c => [`cb-${String(c.body.id)}`, String(c.body.prompt)]));
  const byChat = new Map<number, number[]>(chats.map(c => [c, []]));
  for (const [, fields] of await redis.xrange(`${s.prefix}:callbacks:events`, '-', '+')) {
    if (fields[1] !== 'added') continue;
    const m = /\bc(\d+) p(\d+)\b/.exec(promptOf.get(fields[3] ?? '') ?? '');
    if (m) byChat.get(Number(m[1]))?.push(Number(m[2]));
  }
  return byChat;
}
