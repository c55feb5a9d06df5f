import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { waitFor } from '@telegram-receiver/testing';
import type { TelegramUpdate } from '@telegram-receiver/core';
import { WEBHOOK_SECRET, expectNoSecretLogged, startStack, type RecordedCall, type Stack } from './stack.ts';

let stack: Stack;
let redis: Redis;
let nextUpdate = 5_000_000 + Math.floor(Math.random() * 1_000_000);
let nextChat = 7_000_000 + Math.floor(Math.random() * 1_000_000);

beforeAll(async () => {
  stack = await startStack();
  redis = new Redis(stack.redis.url);
}, 60_000);

afterAll(async () => {
  redis?.disconnect();
  const code = await stack?.worker.stop('SIGTERM');
  await stack?.close();
  // A clean SIGTERM exit is part of the contract.
  expect(code).toBe(0);
});

const chatId = () => ++nextChat;
const text = (call: RecordedCall) => String(call.body.text ?? '');
const unescape = (html: string) =>
  html
    .replace(/<\/?[a-z][^<>]*>/g, '')
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');

function message(chat: number, fields: Record<string, unknown>, messageId = 1): TelegramUpdate {
  return {
    update_id: ++nextUpdate,
    message: {
      message_id: messageId,
      date: Math.floor(Date.now() / 1000),
      from: { id: chat, is_bot: false, first_name: 'E2E' },
      chat: { id: chat, type: 'private', first_name: 'E2E' },
      ...fields,
    },
  };
}

async function workerHealthy(): Promise<void> {
  const res = await request(`${stack.workerOpsUrl}/health`);
  expect(res.statusCode).toBe(200);
  await res.body.dump();
}

async function metric(name: string): Promise<number> {
  const res = await request(`${stack.workerOpsUrl}/metrics`);
  const body = await res.body.text();
  const line = body.split('\n').find(l => l.startsWith(name));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('pipeline: text', () => {
  it('should forward a prompt with the seed body, keep the state, answer in the chat and delete the state', async () => {
    const chat = chatId();
    const prompt = 'summarise the repo [[delay:800]]';
    expect(await stack.postUpdate(message(chat, { text: prompt }, 42))).toBe(200);
    const [iterate] = await waitFor(async () => {
      const got = await stack.calls({ service: 'cursor-runner', method: 'iterate-async' });
      const mine = got.filter(c => c.body.prompt === prompt);
      return mine.length > 0 ? mine : undefined;
    });
    const { id, callbackUrl, ...rest } = iterate!.body;
    expect(rest).toEqual({ repository: '', branchName: 'main', prompt, maxIterations: 25 });
    expect(String(id)).toMatch(/^telegram-\d+-[0-9a-f]{8}$/);
    expect(String(callbackUrl)).toBe(`${stack.gatewayUrl}/cursor-runner/callback?secret=${WEBHOOK_SECRET}`);
    const state = JSON.parse((await redis.get(`${stack.prefix}:callback:${String(id)}`))!) as Record<
      string,
      unknown
    >;
    expect(state).toMatchObject({
      chat_id: chat,
      message_id: 42,
      prompt,
      original_was_audio: false,
      bot: 'alpha',
    });
    const [reply] = await stack.waitForSent('sendMessage', chat, 1);
    expect(text(reply!)).toBe(`Echo: ${prompt}`);
    expect(reply!.body).toMatchObject({ parse_mode: 'HTML', reply_to_message_id: 42 });
    await waitFor(async () => (await redis.exists(`${stack.prefix}:callback:${String(id)}`)) === 0);
  });

  it('should answer /start locally without calling cursor-runner', async () => {
    const chat = chatId();
    const before = (await stack.calls({ service: 'cursor-runner', method: 'iterate-async' })).length;
    await stack.postUpdate(message(chat, { text: '/start' }, 3));
    const [reply] = await stack.waitForSent('sendMessage', chat, 1);
    expect(text(reply!)).toContain("Hello! I'm your Virtual Assistant.");
    expect(await stack.calls({ service: 'cursor-runner', method: 'iterate-async' })).toHaveLength(before);
  });

  it('should split a 10,000-character output into messages that add up to it', async () => {
    const chat = chatId();
    await stack.postUpdate(message(chat, { text: 'long [[long:10000]]' }));
    const parts = await stack.waitForSent('sendMessage', chat, 3);
    const callbacks = await stack.calls({ service: 'cursor-runner', method: 'callback' });
    const output = callbacks.map(c => String(c.body.output ?? '')).find(o => o.length === 10_000);
    expect(output).toBeDefined();
    for (const part of parts) expect(text(part).length).toBeLessThanOrEqual(4096);
    expect(unescape(parts.map(text).join('\n'))).toBe(output!.trim());
  });

  it('should answer a callback query and forward its data', async () => {
    const chat = chatId();
    await stack.postUpdate({
      update_id: ++nextUpdate,
      callback_query: {
        id: `cq-${chat}`,
        from: { id: chat, is_bot: false, first_name: 'E2E' },
        chat_instance: '-1',
        data: 'button pressed',
        message: { message_id: 9, date: 1, chat: { id: chat, type: 'private' }, text: 'Pick' },
      },
    });
    const [reply] = await stack.waitForSent('sendMessage', chat, 1);
    expect(text(reply!)).toBe('Echo: button pressed');
    const answers = await stack.calls({ service: 'telegram', method: 'answerCallbackQuery' });
    expect(answers.some(a => a.body.callback_query_id === `cq-${chat}`)).toBe(true);
  });

  it('should send nothing for a callback with an unknown request id', async () => {
    const before = await metric('telegram_receiver_jobs_total{queue="callbacks",result="completed"}');
    const sentBefore = (await stack.calls({ service: 'telegram', method: 'sendMessage' })).length;
    const res = await request(`${stack.gatewayUrl}/cursor-runner/callback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-webhook-secret': WEBHOOK_SECRET },
      body: JSON.stringify({ requestId: 'telegram-1-deadbeef', success: true, output: 'nobody asked' }),
    });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    await waitFor(
      async () =>
        (await metric('telegram_receiver_jobs_total{queue="callbacks",result="completed"}')) > before,
    );
    expect(await stack.calls({ service: 'telegram', method: 'sendMessage' })).toHaveLength(sentBefore);
  });

  it('should answer the updates of one chat in the order they were posted', async () => {
    const chat = chatId();
    const texts = ['/help', '/status', '/start', '/status', '/help', '/status'];
    for (const [i, t] of texts.entries()) {
      expect(await stack.postUpdate(message(chat, { text: t }, 100 + i))).toBe(200);
    }
    const replies = await stack.waitForSent('sendMessage', chat, texts.length);
    expect(replies.sort((a, b) => a.seq - b.seq).map(r => r.body.reply_to_message_id)).toEqual(
      texts.map((_, i) => 100 + i),
    );
  });

  it('should reply to each bot with its own token when two bots are busy at once', async () => {
    const [alpha, beta] = stack.bots;
    const chatA = chatId();
    const chatB = chatId();
    await Promise.all([
      stack.postUpdate(message(chatA, { text: 'hello alpha' }), alpha),
      stack.postUpdate(message(chatB, { text: 'hello beta' }), beta),
    ]);
    const [a] = await stack.waitForSent('sendMessage', chatA, 1);
    const [b] = await stack.waitForSent('sendMessage', chatB, 1);
    expect(a!.botId).toBe(alpha!.token.split(':')[0]);
    expect(b!.botId).toBe(beta!.token.split(':')[0]);
  });
});

describe('pipeline: voice', () => {
  it('should download, transcribe and forward a voice note', async () => {
    const chat = chatId();
    const fileId = `voice-${chat}`;
    await stack.registerFile({ fileId, transcript: 'deploy to staging' });
    await stack.postUpdate(
      message(chat, { voice: { file_id: fileId, file_unique_id: 'u', duration: 2, mime_type: 'audio/ogg' } }),
    );
    const [reply] = await stack.waitForSent('sendMessage', chat, 1);
    expect(text(reply!)).toBe('Echo: deploy to staging');
    const getFile = await stack.calls({ service: 'telegram', method: 'getFile' });
    expect(getFile.some(c => c.body.file_id === fileId)).toBe(true);
    const stt = await stack.calls({ service: 'elevenlabs', method: 'speech-to-text' });
    expect(stt.length).toBeGreaterThan(0);
  });

  it('should answer a voice prompt with an OGG voice message when allow_audio_output is on', async () => {
    await stack.setSettings({ allow_audio_output: true });
    try {
      const chat = chatId();
      const fileId = `voice-out-${chat}`;
      await stack.registerFile({ fileId, transcript: 'read it to me' });
      await stack.postUpdate(
        message(
          chat,
          { voice: { file_id: fileId, file_unique_id: 'u2', duration: 2, mime_type: 'audio/ogg' } },
          7,
        ),
      );
      const [voice] = await stack.waitForSent('sendVoice', chat, 1);
      const file = voice!.body.voice as { firstBytesHex: string };
      expect(file.firstBytesHex).toBe('4f676753');
      expect(await stack.calls({ service: 'telegram', method: 'sendMessage', chatId: chat })).toHaveLength(0);
    } finally {
      await stack.setSettings({ allow_audio_output: false });
    }
  });
});

describe('pipeline: upstream failures', () => {
  it('should wait out Telegram 429 retry_after and reply once', async () => {
    const chat = chatId();
    await stack.fault({
      service: 'telegram',
      method: 'sendMessage',
      chatId: chat,
      type: 'status',
      status: 429,
      retryAfter: 1,
      times: 1,
    });
    await stack.postUpdate(message(chat, { text: '/status' }));
    await stack.waitForSent('sendMessage', chat, 1);
    expect(
      (await stack.calls({ service: 'telegram', method: 'sendMessage', chatId: chat })).filter(
        c => c.status === 200,
      ),
    ).toHaveLength(1);
    await workerHealthy();
  });

  it('should get through Telegram 5xx and reply once', async () => {
    const chat = chatId();
    await stack.fault({
      service: 'telegram',
      method: 'sendMessage',
      chatId: chat,
      type: 'status',
      status: 502,
      times: 4,
    });
    await stack.postUpdate(message(chat, { text: 'five hundred' }));
    await stack.waitForSent('sendMessage', chat, 1, 20_000);
    expect(
      (await stack.calls({ service: 'telegram', method: 'sendMessage', chatId: chat })).filter(
        c => c.status === 200,
      ),
    ).toHaveLength(1);
    await workerHealthy();
  });

  it('should not repeat a reply whose connection dropped mid-send', async () => {
    const chat = chatId();
    await stack.fault({
      service: 'telegram',
      method: 'sendMessage',
      chatId: chat,
      type: 'timeout',
      ms: 300,
      times: 1,
    });
    await stack.postUpdate(message(chat, { text: '/help' }));
    await waitFor(
      async () =>
        (await stack.calls({ service: 'telegram', method: 'sendMessage', chatId: chat })).length === 1,
    );
    // The next update of the chat is answered, which proves the dropped one was finished (lane free).
    await stack.postUpdate(message(chat, { text: '/status' }));
    await stack.waitForSent('sendMessage', chat, 1);
    const all = await stack.calls({ service: 'telegram', method: 'sendMessage', chatId: chat });
    expect(all).toHaveLength(2);
    await workerHealthy();
  });

  it('should ride out ElevenLabs 429 and 5xx and still transcribe', async () => {
    const chat = chatId();
    const fileId = `voice-flaky-${chat}`;
    await stack.registerFile({ fileId, transcript: 'flaky but fine' });
    await stack.fault({
      service: 'elevenlabs',
      method: 'speech-to-text',
      type: 'status',
      status: 429,
      times: 1,
    });
    await stack.fault({
      service: 'elevenlabs',
      method: 'speech-to-text',
      type: 'status',
      status: 503,
      times: 1,
    });
    await stack.postUpdate(message(chat, { voice: { file_id: fileId, file_unique_id: 'u3', duration: 2 } }));
    const [reply] = await stack.waitForSent('sendMessage', chat, 1, 20_000);
    expect(text(reply!)).toBe('Echo: flaky but fine');
    expect(await stack.calls({ service: 'telegram', method: 'sendMessage', chatId: chat })).toHaveLength(1);
    await workerHealthy();
  });

  it('should never log a secret', () => {
    expectNoSecretLogged(stack);
  });
});

describe('worker main', () => {
  it('should exit 1 with one clear line per bad setting, quoting no secret', async () => {
    const entry = join(dirname(fileURLToPath(import.meta.url)), '../../src/main.ts');
    const proc = spawn(process.execPath, [entry], {
      env: {
        PATH: process.env.PATH,
        OPS_PORT: 'not-a-port',
        REDIS_URL: 'http://wrong',
        TELEGRAM_BOT_TOKEN: 'short-secret-token-value',
        UPDATES_CONCURRENCY: '0',
        TELEGRAM_TIMEOUT_MS: '-5',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    proc.stdout.resume();
    const code = await new Promise(resolve => proc.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toMatch(/worker: OPS_PORT: /);
    expect(stderr).toMatch(/worker: REDIS_URL: /);
    expect(stderr).toMatch(/worker: UPDATES_CONCURRENCY: /);
    expect(stderr).toMatch(/worker: TELEGRAM_TIMEOUT_MS: /);
    expect(stderr).not.toContain('short-secret-token-value');
  });
});
