import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import type { Agent } from 'undici';
import {
  BotRegistry,
  CursorRunnerClient,
  ElevenLabsClient,
  SecretRedactor,
  SettingsStore,
  TelegramClientCache,
  callbackJobId,
  chatLaneOf,
  closeQueues,
  createHttpAgent,
  createLogger,
  createQueues,
  DEFAULT_JOB_OPTIONS,
  LaneWriter,
  UPDATE_DEDUP_TTL_MS,
  encodeJobOptions,
  updateJobId,
  type BotConfig,
  type CursorRunnerResult,
  type Logger,
  type Queues,
  type Settings,
  type TelegramUpdate,
} from '@telegram-receiver/core';
import { startSandbox, type Sandbox, type SandboxCall } from '@telegram-receiver/sandbox';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { RedisServer, randomName, waitFor } from '@telegram-receiver/testing';
import {
  closeWorkerConnections,
  createWorkerConnections,
  type WorkerConnections,
} from '../../src/connections.ts';
import { createWorkerService, type WorkerService } from '../../src/worker.ts';

/**
 * One worker service in-process against a private Redis and an in-process sandbox, with the real
 * core clients (short timeouts), a stand-in for the gateway's callback route, and helpers to post
 * updates the way the gateway does (job + lane entry).
 */
export interface Harness {
  sandbox: Sandbox;
  service: WorkerService;
  opsUrl: string;
  prefix: string;
  bots: BotConfig[];
  redis: Redis;
  queues: Queues;
  settings: SettingsStore;
  /** Every log line the worker wrote (already scrubbed), for secrecy assertions. */
  logLines: string[];
  /** Start one more worker service on the same Redis, prefix, bots and clients (closed with the harness). */
  addService(): Promise<WorkerService>;
  /** Post an update as the gateway would (job id, lane entry). */
  postUpdate(update: TelegramUpdate, bot?: BotConfig, jobOpts?: { attempts?: number }): Promise<void>;
  /** Sandbox Telegram calls of one method (and chat). */
  sent(method: string, chatId?: number): SandboxCall[];
  /** Wait until `n` calls of a method reached the sandbox for a chat, and return them. */
  waitForSent(
    method: string,
    chatId: number | undefined,
    n: number,
    timeoutMs?: number,
  ): Promise<SandboxCall[]>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  redisUrl: string;
  /** Start without an ElevenLabs client (ELEVENLABS_API_KEY unset). @defaultValue true */
  elevenLabs?: boolean;
  settings?: Partial<Settings>;
  /** @defaultValue one bot */
  bots?: BotConfig[];
  /** Client deadline per attempt, ms. @defaultValue 1500 */
  clientTimeoutMs?: number;
  /** Point cursor-runner somewhere else (e.g. a closed port). */
  cursorRunnerUrl?: string;
  /** Attempts per job. @defaultValue 3 */
  attempts?: number;
  /** @defaultValue 5000 */
  shutdownGraceMs?: number;
  /** Cluster-wide ElevenLabs slots. @defaultValue 5 */
  elevenLabsConcurrency?: number;
  /** Requests the sandbox's ElevenLabs takes at once before it answers 429. @defaultValue 10 */
  sandboxElevenLabsConcurrency?: number;
  /** STILL_WORKING_NOTICE_SECONDS. @defaultValue the worker's default */
  stillWorkingNoticeSeconds?: number;
}

export const WEBHOOK_SECRET = 'callback-secret-0123456789';
export const ELEVENLABS_KEY = 'xi-test-key-0123456789abcdef';

let botCounter = 0;

/** A bot with a token and webhook secret no other test uses. */
export function newBot(): BotConfig {
  botCounter += 1;
  const digits = String(100_000_000 + Math.floor(Math.random() * 800_000_000) + botCounter);
  return {
    name: randomName('bot').toLowerCase(),
    token: `${digits}:${randomName('TOKEN').replaceAll('-', '_')}_abcdefghijklmnop`,
    webhookSecret: randomName('whsecret'),
  };
}

let updateCounter = Math.floor(Math.random() * 1_000_000);
/** A fresh update id. */
export function nextUpdateId(): number {
  updateCounter += 1;
  return updateCounter;
}

/** A chat id no other test uses. */
export function newChatId(): number {
  return 1_000_000 + Math.floor(Math.random() * 1_000_000_000);
}

export function textUpdate(
  chatId: number,
  text: string,
  messageId = 10,
  updateId = nextUpdateId(),
): TelegramUpdate {
  return {
    update_id: updateId,
    message: {
      message_id: messageId,
      date: Math.floor(Date.now() / 1000),
      from: { id: chatId, is_bot: false, first_name: 'Test' },
      chat: { id: chatId, type: 'private', first_name: 'Test' },
      text,
    },
  };
}

export function voiceUpdate(
  chatId: number,
  fileId: string,
  messageId = 20,
  fileSize = 23_000,
): TelegramUpdate {
  return {
    update_id: nextUpdateId(),
    message: {
      message_id: messageId,
      date: Math.floor(Date.now() / 1000),
      from: { id: chatId, is_bot: false, first_name: 'Test' },
      chat: { id: chatId, type: 'private', first_name: 'Test' },
      voice: {
        file_id: fileId,
        file_unique_id: `u-${fileId}`,
        duration: 3,
        mime_type: 'audio/ogg',
        file_size: fileSize,
      },
    },
  };
}

export function callbackQueryUpdate(chatId: number, data: string, messageId = 30): TelegramUpdate {
  return {
    update_id: nextUpdateId(),
    callback_query: {
      id: randomName('cq'),
      from: { id: chatId, is_bot: false, first_name: 'Test' },
      chat_instance: '-123',
      data,
      message: {
        message_id: messageId,
        date: Math.floor(Date.now() / 1000),
        chat: { id: chatId, type: 'private' },
        text: 'Pick one',
      },
    },
  };
}

/** The text of a recorded sendMessage call. */
export function textOf(call: SandboxCall): string {
  return String((call.body as { text?: unknown }).text ?? '');
}

/** The gateway's callback normalisation, reduced to what the sandbox sends (camelCase). */
function resultOf(body: Record<string, unknown>): CursorRunnerResult {
  const num = (v: unknown, d: number) => (typeof v === 'number' ? v : d);
  return {
    requestId: String(body.requestId ?? body.request_id),
    success: body.success === true || body.success === 'true',
    iterations: num(body.iterations, 0),
    maxIterations: num(body.maxIterations, 25),
    output: typeof body.output === 'string' ? body.output : '',
    error: typeof body.error === 'string' ? body.error : null,
    exitCode: num(body.exitCode, 0),
    ...(typeof body.duration === 'string' ? { duration: body.duration } : {}),
  };
}

async function startCallbackReceiver(queues: Queues): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      const result = resultOf(body);
      queues.callbacks
        .add(
          'cursor-runner-callback',
          { result, receivedAt: Date.now() },
          { jobId: callbackJobId(result.requestId), attempts: 3, backoff: { type: 'fixed', delay: 100 } },
        )
        .then(() => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ received: true }));
        })
        .catch(() => {
          res.writeHead(503);
          res.end();
        });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

export async function startHarness(opts: HarnessOptions): Promise<Harness> {
  const prefix = randomName('tr');
  const bots = opts.bots ?? [newBot()];
  const registry = new BotRegistry(bots);
  const sandbox = await startSandbox({
    webhookSecret: WEBHOOK_SECRET,
    ...(opts.sandboxElevenLabsConcurrency === undefined
      ? {}
      : { elevenLabsConcurrency: opts.sandboxElevenLabsConcurrency }),
  });
  const redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: null });
  const subscriber = new Redis(opts.redisUrl, { maxRetriesPerRequest: null });
  const queues = createQueues(redis, prefix);
  const settings = new SettingsStore({ redis, subscriber, prefix });
  await settings.start();
  if (opts.settings) await settings.update(opts.settings);
  const receiver = await startCallbackReceiver(queues);
  const callbackUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/cursor-runner/callback`;

  const secrets = [...bots.flatMap(b => [b.token, b.webhookSecret]), WEBHOOK_SECRET, ELEVENLABS_KEY];
  const logLines: string[] = [];
  const logger: Logger = createLogger({
    service: 'worker',
    level: 'debug',
    secrets,
    destination: { write: (line: string) => void logLines.push(line) },
  });
  const timeoutMs = opts.clientTimeoutMs ?? 1500;
  const agent: Agent = createHttpAgent({ connectTimeoutMs: 1000 });
  const telegram = new TelegramClientCache({
    baseUrl: sandbox.url,
    agent,
    timeoutMs,
    maxAttempts: 2,
    initialDelayMs: 20,
    maxDelayMs: 50,
    maxInlineRetryAfterSeconds: 0,
  });
  const cursorRunner = new CursorRunnerClient({
    baseUrl: opts.cursorRunnerUrl ?? sandbox.url,
    agent,
    timeoutMs,
    webhookSecret: WEBHOOK_SECRET,
  });
  const elevenLabs =
    opts.elevenLabs === false
      ? undefined
      : new ElevenLabsClient({
          apiKey: ELEVENLABS_KEY,
          baseUrl: sandbox.url,
          agent,
          timeoutMs,
          maxAttempts: 2,
          initialDelayMs: 20,
          maxDelayMs: 50,
          concurrencyRetryDelayMs: 20,
          maxInlineRetryAfterSeconds: 0,
        });
  const extra: { service: WorkerService; connections: WorkerConnections }[] = [];
  const newService = (connections: WorkerConnections) =>
    createWorkerService({
      connections,
      config: {
        QUEUE_PREFIX: prefix,
        OPS_PORT: 9102,
        UPDATES_CONCURRENCY: 8,
        CALLBACKS_CONCURRENCY: 8,
        SHUTDOWN_GRACE_MS: opts.shutdownGraceMs ?? 5000,
        TELEGRAM_WEBHOOK_BASE_URL: 'http://127.0.0.1:1',
        CURSOR_RUNNER_CALLBACK_URL: callbackUrl,
        ELEVENLABS_CONCURRENCY: opts.elevenLabsConcurrency ?? 5,
        ...(opts.stillWorkingNoticeSeconds === undefined
          ? {}
          : { STILL_WORKING_NOTICE_SECONDS: opts.stillWorkingNoticeSeconds }),
      },
      bots: registry,
      telegram,
      cursorRunner,
      elevenLabs,
      logger,
      redactor: new SecretRedactor(secrets),
      opsHost: '127.0.0.1',
      opsPort: 0,
      defaultMetrics: false,
    });
  const connections = createWorkerConnections({ url: opts.redisUrl }, logger);
  const service = newService(connections);
  const { opsPort } = await service.start();
  const attempts = opts.attempts ?? 3;

  // Updates go in as the gateway writes them: a job in its chat's lane.
  const laneWriter = new LaneWriter({ queue: queues.updates, redis, prefix });
  const sent = (method: string, chatId?: number) =>
    sandbox.calls({ service: 'telegram', method, ...(chatId === undefined ? {} : { chatId }) });

  return {
    sandbox,
    service,
    opsUrl: `http://127.0.0.1:${opsPort}`,
    prefix,
    bots,
    redis,
    queues,
    settings,
    logLines,
    async addService() {
      const more = createWorkerConnections({ url: opts.redisUrl }, logger);
      const added = newService(more);
      extra.push({ service: added, connections: more });
      await added.start();
      return added;
    },
    async postUpdate(update, bot = bots[0]!, jobOpts = {}) {
      const lane = chatLaneOf(update);
      const jobId = updateJobId(bot.name, update.update_id);
      const options = encodeJobOptions({
        ...DEFAULT_JOB_OPTIONS,
        jobId,
        attempts: jobOpts.attempts ?? attempts,
        backoff: { type: 'fixed', delay: 100 },
      });
      await laneWriter.append('telegram-update', [
        {
          jobId,
          data: JSON.stringify({ bot: bot.name, update, lane, receivedAt: Date.now() }),
          opts: JSON.stringify(options),
          dedup: { id: jobId, ttlMs: UPDATE_DEDUP_TTL_MS },
          lane: lane === null ? null : { bot: bot.name, lane },
        },
      ]);
    },
    sent,
    async waitForSent(method, chatId, n, timeoutMs = 10_000) {
      return await waitFor(
        () => {
          const calls = sent(method, chatId).filter(c => c.status === 200);
          return calls.length >= n ? calls : undefined;
        },
        { timeoutMs, message: `${n} successful ${method} call(s) for chat ${chatId}` },
      );
    },
    async close() {
      for (const e of extra) {
        await e.service.stop();
        await closeWorkerConnections(e.connections);
      }
      await service.stop();
      await closeWorkerConnections(connections);
      await settings.close();
      await closeQueues(queues);
      await new Promise<void>(resolve => receiver.close(() => resolve()));
      receiver.closeAllConnections();
      await sandbox.close();
      await agent.close();
      redis.disconnect();
      subscriber.disconnect();
    },
  };
}

/** What {@link useHarnesses} gives a test file. */
export interface HarnessPerTest {
  /** {@link startHarness} on the file's redis-server; the harness is closed after the test. */
  start(opts?: Omit<HarnessOptions, 'redisUrl'>): Promise<Harness>;
  /** Close the test's harness now; the after-test checks then skip it. */
  close(): Promise<void>;
  /** The file's redis-server. */
  redisUrl(): string;
}

/**
 * The hooks every harness test file needs: one private redis-server for the file, and the harness
 * a test started closed after it. `beforeClose` runs first on that harness, while it still runs
 * (checks every test of the file must pass).
 */
export function useHarnesses(beforeClose?: (h: Harness) => Promise<void>): HarnessPerTest {
  let redisServer: RedisServer | undefined;
  let current: Harness | undefined;
  beforeAll(async () => {
    redisServer = await RedisServer.start({ appendOnly: false });
  });
  afterEach(async () => {
    const h = current;
    current = undefined;
    if (h === undefined) return;
    try {
      await beforeClose?.(h);
    } finally {
      await h.close();
    }
  });
  afterAll(async () => {
    await redisServer?.close();
  });
  return {
    async start(opts = {}) {
      if (redisServer === undefined) throw new Error('useHarnesses: start() called outside a test');
      current = await startHarness({ ...opts, redisUrl: redisServer.url });
      return current;
    },
    async close() {
      const h = current;
      current = undefined;
      await h?.close();
    },
    redisUrl() {
      if (redisServer === undefined) throw new Error('useHarnesses: redisUrl() called outside a test');
      return redisServer.url;
    },
  };
}
