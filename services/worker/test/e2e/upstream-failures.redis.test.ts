import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { freePort, waitFor } from '@telegram-receiver/testing';
import { TEXTS } from '../../src/processors/update-processor.ts';
import { HELP_TEXT, STATUS_TEXT } from '../../src/updates/local-commands.ts';
import {
  WEBHOOK_SECRET,
  expectNoSecretLogged,
  messageUpdate,
  newChat,
  sentText,
  startStack,
  voiceUpdate,
  type RecordedCall,
  type Stack,
} from './stack.ts';

// Every upstream failing in each way a user can meet it (429 with retry_after, 5xx, timeout,
// connection refused), through real processes: redis-server, sandbox, gateway and worker. For each:
// the answer the user should get, never a duplicate reply (sendMessage calls counted per chat in
// the sandbox once the queues are idle), and a worker that still answers /health.

const TELEGRAM_TIMEOUT_MS = 1500;

/** A TCP forwarder to the sandbox that can be shut (connection refused) and opened again on its port. */
class Forwarder {
  readonly #target: number;
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  port = 0;

  constructor(target: number) {
    this.#target = target;
  }

  async open(port: number): Promise<void> {
    const server = createServer(client => {
      const upstream = connect(this.#target, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    this.#server = server;
    this.port = port;
  }

  /** Stop listening and drop every connection: the next connect is refused. */
  async shut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    const closed = once(server, 'close');
    server.close();
    for (const s of this.#sockets) s.destroy();
    await closed;
  }
}

async function sentTo(stack: Stack, chat: number, method = 'sendMessage'): Promise<RecordedCall[]> {
  return (await stack.calls({ service: 'telegram', method, chatId: chat })).sort((a, b) => a.seq - b.seq);
}

async function iterateCalls(stack: Stack, prompt: string): Promise<RecordedCall[]> {
  return (await stack.calls({ service: 'cursor-runner', method: 'iterate-async' })).filter(
    c => c.body.prompt === prompt,
  );
}

describe('upstream failures through real processes (sandbox faults)', () => {
  let stack: Stack;
  let redis: Redis;

  beforeAll(async () => {
    stack = await startStack({ telegramTimeoutMs: TELEGRAM_TIMEOUT_MS, cursorRunnerTimeoutSec: 1 });
    redis = new Redis(stack.redis.url);
  }, 60_000);

  afterEach(async () => {
    await stack.clearFaults();
    // Whatever failed upstream, the worker is alive and says so.
    expect(await stack.health()).toBe(200);
  });

  afterAll(async () => {
    redis?.disconnect();
    if (stack) expectNoSecretLogged(stack);
    const code = await stack?.worker.stop('SIGTERM');
    await stack?.close();
    expect(code).toBe(0);
  });

  describe('Telegram', () => {
    it('should not send again a reply whose send timed out but was delivered late', async () => {
      const chat = newChat();
      // Telegram takes the message but answers after the worker's deadline.
      await stack.fault({
        service: 'telegram',
        method: 'sendMessage',
        chatId: chat,
        type: 'latency',
        ms: TELEGRAM_TIMEOUT_MS + 2500,
        times: 1,
      });
      expect(await stack.postUpdate(messageUpdate(chat, { text: '/help' }, 5))).toBe(200);
      // The sandbox finishes the late send; meanwhile the worker gave up on it.
      await stack.waitForSent('sendMessage', chat, 1, 15_000);
      // The chat is not stuck: the next update is answered.
      await stack.postUpdate(messageUpdate(chat, { text: '/status' }, 6));
      await stack.waitForSent('sendMessage', chat, 2);
      await stack.settled();
      const calls = await sentTo(stack, chat);
      expect(calls.map(c => [c.status, c.body.reply_to_message_id, sentText(c)])).toEqual([
        [200, 5, HELP_TEXT],
        [200, 6, STATUS_TEXT],
      ]);
      expect(stack.worker.lines.some(l => l.includes('reply may or may not have reached telegram'))).toBe(
        true,
      );
    });

    it('should not repeat a send that timed out without an answer, and go on with the chat', async () => {
      const chat = newChat();
      // Telegram holds the request and never answers: the worker's own deadline ends it.
      await stack.fault({
        service: 'telegram',
        method: 'sendMessage',
        chatId: chat,
        type: 'timeout',
        ms: 20_000,
        times: 1,
      });
      const started = Date.now();
      await stack.postUpdate(messageUpdate(chat, { text: '/help' }, 5));
      // The held call is recorded (status 0) once the worker's client hangs up.
      await waitFor(async () => (await sentTo(stack, chat)).length === 1, { timeoutMs: 15_000 });
      expect(Date.now() - started).toBeLessThan(10_000);
      await stack.postUpdate(messageUpdate(chat, { text: '/status' }, 6));
      await stack.waitForSent('sendMessage', chat, 1);
      await stack.settled();
      const calls = await sentTo(stack, chat);
      // At most once: the reply whose fate is unknown is not sent a second time.
      expect(calls.map(c => [c.status, c.body.reply_to_message_id])).toEqual([
        [0, 5],
        [200, 6],
      ]);
    });

    it('should delay, not fail, a job on a long retry_after, keep the chat in order, and reply once', async () => {
      const chatLocal = newChat();
      const chatPrompt = newChat();
      const failedBefore = await stack.metric(
        'telegram_receiver_jobs_total{queue="updates",result="failed"}',
      );
      for (const chat of [chatLocal, chatPrompt]) {
        // Longer than the client waits inline (5 s): the job itself is moved to the delayed set.
        await stack.fault({
          service: 'telegram',
          method: 'sendMessage',
          chatId: chat,
          type: 'status',
          status: 429,
          retryAfter: 6,
          times: 1,
        });
      }
      // A local answer (update processor) and a cursor-runner answer (callback processor).
      await stack.postUpdate(messageUpdate(chatLocal, { text: '/help' }, 1));
      await stack.postUpdate(messageUpdate(chatLocal, { text: '/status' }, 2));
      await stack.postUpdate(messageUpdate(chatPrompt, { text: 'rate limited answer' }, 3));
      await stack.waitForSent('sendMessage', chatLocal, 2, 20_000);
      await stack.waitForSent('sendMessage', chatPrompt, 1, 20_000);
      await stack.settled();

      const local = await sentTo(stack, chatLocal);
      expect(local.map(c => [c.status, c.body.reply_to_message_id])).toEqual([
        [429, 1],
        [200, 1],
        [200, 2],
      ]);
      expect(local[1]!.at - local[0]!.at).toBeGreaterThanOrEqual(6000);
      expect(sentText(local[1]!)).toBe(HELP_TEXT);
      const prompt = await sentTo(stack, chatPrompt);
      expect(prompt.map(c => [c.status, sentText(c)])).toEqual([
        [429, 'Echo: rate limited answer'],
        [200, 'Echo: rate limited answer'],
      ]);
      expect(prompt[1]!.at - prompt[0]!.at).toBeGreaterThanOrEqual(6000);
      expect(await iterateCalls(stack, 'rate limited answer')).toHaveLength(1);
      // A delay is not an attempt: nothing was dead-lettered.
      expect(await stack.metric('telegram_receiver_jobs_total{queue="updates",result="failed"}')).toBe(
        failedBefore,
      );
    }, 40_000);
  });

  describe('cursor-runner', () => {
    it('should not send a prompt again when its acknowledgement timed out, and answer once when it calls back', async () => {
      const chat = newChat();
      const prompt = `slow ack ${chat}`;
      // cursor-runner takes the prompt but acknowledges after the worker's 1 s deadline.
      await stack.fault({
        service: 'cursor-runner',
        method: 'iterate-async',
        type: 'latency',
        ms: 2500,
        times: 1,
      });
      await stack.postUpdate(messageUpdate(chat, { text: prompt }, 8));
      const [reply] = await stack.waitForSent('sendMessage', chat, 1, 15_000);
      expect(sentText(reply!)).toBe(`Echo: ${prompt}`);
      expect(reply!.body.reply_to_message_id).toBe(8);
      await stack.settled();
      const iterate = await iterateCalls(stack, prompt);
      expect(iterate).toHaveLength(1);
      expect(await sentTo(stack, chat)).toHaveLength(1);
      // The worker did give up waiting (and chose not to send the prompt again).
      expect(
        stack.worker.lines.some(l =>
          l.includes('cursor-runner may have taken the prompt; not sending it again'),
        ),
      ).toBe(true);
      await waitFor(
        async () => (await redis.exists(`${stack.prefix}:callback:${String(iterate[0]!.body.id)}`)) === 0,
      );
    });

    it('should wait out a 429 with Retry-After and forward the prompt once', async () => {
      const chat = newChat();
      const prompt = `busy runner ${chat}`;
      await stack.fault({
        service: 'cursor-runner',
        method: 'iterate-async',
        type: 'status',
        status: 429,
        retryAfter: 1,
        times: 1,
      });
      await stack.postUpdate(messageUpdate(chat, { text: prompt }));
      const [reply] = await stack.waitForSent('sendMessage', chat, 1, 15_000);
      expect(sentText(reply!)).toBe(`Echo: ${prompt}`);
      await stack.settled();
      const iterate = await iterateCalls(stack, prompt);
      expect(iterate.map(c => c.status)).toEqual([429, 200]);
      expect(iterate[1]!.at - iterate[0]!.at).toBeGreaterThanOrEqual(1000);
      // Both attempts used the same request id: one state record, one callback.
      expect(iterate[0]!.body.id).toBe(iterate[1]!.body.id);
      expect(await sentTo(stack, chat)).toHaveLength(1);
    });

    it('should retry a 5xx (cursor-runner said it did not take the prompt) and answer once', async () => {
      const chat = newChat();
      const prompt = `flaky runner ${chat}`;
      await stack.fault({
        service: 'cursor-runner',
        method: 'iterate-async',
        type: 'status',
        status: 503,
        times: 2,
      });
      await stack.postUpdate(messageUpdate(chat, { text: prompt }));
      const [reply] = await stack.waitForSent('sendMessage', chat, 1, 20_000);
      expect(sentText(reply!)).toBe(`Echo: ${prompt}`);
      await stack.settled();
      expect((await iterateCalls(stack, prompt)).map(c => c.status)).toEqual([503, 503, 200]);
      expect(await sentTo(stack, chat)).toHaveLength(1);
    }, 30_000);
  });

  describe('ElevenLabs', () => {
    for (const code of ['too_many_concurrent_requests', 'system_busy']) {
      it(`should ride out a 429 ${code} and transcribe once`, async () => {
        const chat = newChat();
        const fileId = `voice-${code}-${chat}`;
        await stack.registerFile({ fileId, transcript: `heard through ${code}` });
        await stack.fault({
          service: 'elevenlabs',
          method: 'speech-to-text',
          type: 'status',
          status: 429,
          code,
          times: 2,
        });
        await stack.postUpdate(voiceUpdate(chat, fileId, 4));
        const [reply] = await stack.waitForSent('sendMessage', chat, 1, 20_000);
        expect(sentText(reply!)).toBe(`Echo: heard through ${code}`);
        expect(reply!.body.reply_to_message_id).toBe(4);
        await stack.settled();
        expect(await sentTo(stack, chat)).toHaveLength(1);
        expect(await iterateCalls(stack, `heard through ${code}`)).toHaveLength(1);
      }, 30_000);
    }

    it('should answer with text, once, when text-to-speech keeps failing', async () => {
      await stack.setSettings({ allow_audio_output: true });
      try {
        const chat = newChat();
        const fileId = `voice-tts-down-${chat}`;
        await stack.registerFile({ fileId, transcript: 'speak to me' });
        await stack.fault({ service: 'elevenlabs', method: 'text-to-speech', type: 'status', status: 503 });
        await stack.postUpdate(voiceUpdate(chat, fileId, 12));
        const [reply] = await stack.waitForSent('sendMessage', chat, 1, 20_000);
        expect(sentText(reply!)).toBe('Echo: speak to me');
        expect(reply!.body.reply_to_message_id).toBe(12);
        await stack.settled();
        expect(await sentTo(stack, chat)).toHaveLength(1);
        expect(await sentTo(stack, chat, 'sendVoice')).toHaveLength(0);
      } finally {
        await stack.setSettings({ allow_audio_output: false });
      }
    }, 30_000);
  });

  describe('an upstream that stays down', () => {
    it('should tell the user once, after every attempt, when cursor-runner or speech-to-text keeps failing', async () => {
      const promptChat = newChat();
      const voiceChat = newChat();
      const prompt = `doomed ${promptChat}`;
      // The job's 5 attempts all fail (the fault answers exactly that many times).
      await stack.fault({
        service: 'cursor-runner',
        method: 'iterate-async',
        type: 'status',
        status: 500,
        description: `runner exploded; key ${WEBHOOK_SECRET}`,
        times: 5,
      });
      await stack.fault({ service: 'elevenlabs', method: 'speech-to-text', type: 'status', status: 503 });
      await stack.postUpdate(messageUpdate(promptChat, { text: prompt }, 2));
      await stack.postUpdate(voiceUpdate(voiceChat, `voice-doomed-${voiceChat}`, 3));

      const [cursorReply] = await stack.waitForSent('sendMessage', promptChat, 1, 40_000);
      expect(sentText(cursorReply!)).toMatch(/^❌ Error: Failed to execute cursor command\. runner exploded/);
      expect(sentText(cursorReply!)).not.toContain(WEBHOOK_SECRET);
      expect(cursorReply!.body.reply_to_message_id).toBe(2);
      const [voiceReply] = await stack.waitForSent('sendMessage', voiceChat, 1, 40_000);
      expect(sentText(voiceReply!)).toMatch(
        /^❌ Error transcribing audio: .+\. Please try again or send a text message\.$/,
      );
      expect(voiceReply!.body.reply_to_message_id).toBe(3);
      await stack.settled();

      expect((await iterateCalls(stack, prompt)).map(c => c.status)).toEqual([500, 500, 500, 500, 500]);
      expect(await sentTo(stack, promptChat)).toHaveLength(1);
      expect(await sentTo(stack, voiceChat)).toHaveLength(1);
      // No state is left waiting for a callback that cannot come.
      expect(
        await redis.exists(
          `${stack.prefix}:callback:${String((await iterateCalls(stack, prompt))[0]!.body.id)}`,
        ),
      ).toBe(0);
    }, 60_000);
  });
});

describe('upstreams refusing connections, through real processes', () => {
  let stack: Stack;
  let redis: Redis;
  let telegram: Forwarder;

  beforeAll(async () => {
    // Nothing listens on these ports: cursor-runner and ElevenLabs refuse every connection.
    const [cursorPort, elevenLabsPort, telegramPort] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
    ]);
    stack = await startStack({
      telegramUrl: `http://127.0.0.1:${telegramPort}`,
      cursorRunnerUrl: `http://127.0.0.1:${cursorPort}`,
      elevenLabsUrl: `http://127.0.0.1:${elevenLabsPort}`,
    });
    // Telegram goes through a forwarder that the test shuts and opens again.
    telegram = new Forwarder(Number(new URL(stack.sandboxUrl).port));
    await telegram.open(telegramPort);
    redis = new Redis(stack.redis.url);
  }, 60_000);

  afterEach(async () => {
    expect(await stack.health()).toBe(200);
  });

  afterAll(async () => {
    redis?.disconnect();
    if (stack) expectNoSecretLogged(stack);
    const code = await stack?.worker.stop('SIGTERM');
    await telegram?.shut();
    await stack?.close();
    expect(code).toBe(0);
  });

  it('should keep a reply while Telegram refuses connections and send it once when it is back', async () => {
    const chat = newChat();
    const retriedBefore = await stack.metric(
      'telegram_receiver_jobs_total{queue="updates",result="retried"}',
    );
    await telegram.shut();
    await stack.postUpdate(messageUpdate(chat, { text: '/help' }, 9));
    // An attempt failed (it could not connect) and the job waits for its retry.
    await waitFor(
      async () =>
        (await stack.metric('telegram_receiver_jobs_total{queue="updates",result="retried"}')) >
        retriedBefore,
      { timeoutMs: 15_000 },
    );
    await telegram.open(telegram.port);
    const [reply] = await stack.waitForSent('sendMessage', chat, 1, 20_000);
    expect(sentText(reply!)).toBe(HELP_TEXT);
    expect(reply!.body.reply_to_message_id).toBe(9);
    await stack.settled();
    expect(await sentTo(stack, chat)).toHaveLength(1);
  }, 40_000);

  it('should tell the user once when cursor-runner refuses connections, after every attempt', async () => {
    const chat = newChat();
    await stack.postUpdate(messageUpdate(chat, { text: `nobody home ${chat}` }, 4));
    const [reply] = await stack.waitForSent('sendMessage', chat, 1, 40_000);
    expect(sentText(reply!)).toBe(TEXTS.cursorError('cursor-runner iterateAsync: could not connect'));
    expect(reply!.body.reply_to_message_id).toBe(4);
    await stack.settled();
    expect(await sentTo(stack, chat)).toHaveLength(1);
    expect(await stack.calls({ service: 'cursor-runner' })).toHaveLength(0);
    expect(await redis.keys(`${stack.prefix}:callback:*`)).toEqual([]);
  }, 60_000);

  it('should tell the user once when ElevenLabs refuses connections, and forward nothing', async () => {
    const chat = newChat();
    await stack.postUpdate(voiceUpdate(chat, `voice-refused-${chat}`, 6));
    const [reply] = await stack.waitForSent('sendMessage', chat, 1, 60_000);
    expect(sentText(reply!)).toBe(TEXTS.transcriptionError('elevenlabs speech-to-text: could not connect'));
    expect(reply!.body.reply_to_message_id).toBe(6);
    await stack.settled();
    expect(await sentTo(stack, chat)).toHaveLength(1);
    expect(await stack.calls({ service: 'elevenlabs' })).toHaveLength(0);
  }, 90_000);
});
