import { describe, expect, it } from 'vitest';
import { QueueEvents, type JobsOptions } from 'bullmq';
import { callbackJobId, callbackStateKey } from '@telegram-receiver/core';
import { randomName, waitFor } from '@telegram-receiver/testing';
import { htmlToPlain } from '../../src/processors/chat-replies.ts';
import { OUTPUT_FILENAME } from '../../src/processors/callback-processor.ts';
import { splitMessage } from '../../src/format/split-message.ts';
import { saveCallbackState } from '../../src/updates/callback-state.ts';
import {
  ELEVENLABS_KEY,
  WEBHOOK_SECRET,
  newBot,
  newChatId,
  useHarnesses,
  textOf,
  textUpdate,
  voiceUpdate,
  type Harness,
} from './harness.ts';

const harness = useHarnesses();
let h: Harness | undefined;

const bodyOf = (call: { body: unknown }) => call.body as Record<string, unknown>;

/** The callback state the update processor leaves for a text prompt of the harness's first bot. */
const savePromptState = (h: Harness, requestId: string, chatId: number, messageId: number) =>
  saveCallbackState(h.redis, h.prefix, requestId, {
    chat_id: chatId,
    message_id: messageId,
    prompt: 'p',
    original_was_audio: false,
    created_at: new Date().toISOString(),
    bot: h.bots[0]!.name,
  });

/** A successful cursor-runner result, enqueued as the gateway's callback route does. */
const enqueueResult = (h: Harness, requestId: string, output: string, jobOpts: JobsOptions = {}) =>
  h.queues.callbacks.add(
    'cursor-runner-callback',
    {
      result: {
        requestId,
        success: true,
        iterations: 1,
        maxIterations: 25,
        output,
        error: null,
        exitCode: 0,
      },
      receivedAt: Date.now(),
    },
    { jobId: callbackJobId(requestId), ...jobOpts },
  );

describe('callback processor', () => {
  it('should send nothing for an unknown request id', async () => {
    h = await harness.start();
    const events = new QueueEvents('callbacks', {
      connection: { url: harness.redisUrl() },
      prefix: h.prefix,
    });
    await events.waitUntilReady();
    const requestId = randomName('telegram-unknown');
    const job = await enqueueResult(h, requestId, 'should never be seen');
    const result = (await job.waitUntilFinished(events, 10_000)) as { outcome: string };
    await events.close();
    expect(result.outcome).toBe('unknown-request');
    expect(h.sent('sendMessage')).toHaveLength(0);
  });

  it('should split a 10,000-character output into messages that add up to the output', async () => {
    h = await harness.start();
    const chat = newChatId();
    await h.postUpdate(textUpdate(chat, 'long please [[long:10000]]', 12));
    const calls = await h.waitForSent('sendMessage', chat, 3);
    await waitFor(() => h!.sent('sendMessage', chat).length === calls.length);
    const parts = h.sent('sendMessage', chat).map(textOf);
    expect(parts.length).toBeGreaterThanOrEqual(3);
    for (const part of parts) expect(part.length).toBeLessThanOrEqual(4096);
    const [iterate] = h.sandbox.calls({ service: 'cursor-runner', method: 'iterate-async' });
    const callback = h.sandbox.calls({ service: 'cursor-runner', method: 'callback' })[0]!;
    const output = String(bodyOf(callback).output);
    expect(output.length).toBe(10_000);
    expect(htmlToPlain(parts.join('\n'))).toBe(output.trim());
    for (const call of h.sent('sendMessage', chat)) {
      expect(bodyOf(call)).toMatchObject({ parse_mode: 'HTML', reply_to_message_id: 12 });
    }
    expect(iterate).toBeDefined();
  });

  it('should send a very long output as output.txt with one short message', async () => {
    h = await harness.start();
    const chat = newChatId();
    await h.postUpdate(textUpdate(chat, 'huge [[long:60000]]'));
    const [doc] = await h.waitForSent('sendDocument', chat, 1);
    const messages = h.sent('sendMessage', chat);
    expect(messages).toHaveLength(1);
    expect(textOf(messages[0]!)).toContain(OUTPUT_FILENAME);
    const file = bodyOf(doc!).document as { filename: string; size: number };
    expect(file.filename).toBe(OUTPUT_FILENAME);
    expect(file.size).toBeGreaterThanOrEqual(59_000);
  });

  it('should answer a failed run with the seed error text', async () => {
    h = await harness.start();
    const chat = newChatId();
    await h.postUpdate(textUpdate(chat, 'break it [[fail]]'));
    const [reply] = await h.waitForSent('sendMessage', chat, 1);
    expect(textOf(reply!)).toBe('❌ Iteration failed');
  });

  it('should strip ANSI colours and escape markup from the output', async () => {
    h = await harness.start();
    const chat = newChatId();
    await h.postUpdate(textUpdate(chat, 'colours [[ansi]]'));
    const [reply] = await h.waitForSent('sendMessage', chat, 1);
    const text = textOf(reply!);
    expect(text).not.toContain('\u001b');
    expect(text).toContain('&lt;src/app.ts&gt; &amp;');
    expect(text).toContain('&lt;b&gt;not&lt;/b&gt;');
  });

  it('should answer a voice prompt with a voice message (OGG) when allow_audio_output is on', async () => {
    h = await harness.start({ settings: { allow_audio_output: true } });
    const chat = newChatId();
    h.sandbox.registerFile({ fileId: 'v-tts', transcript: 'tell me a joke' });
    await h.postUpdate(voiceUpdate(chat, 'v-tts', 61));
    const [voice] = await h.waitForSent('sendVoice', chat, 1);
    const file = bodyOf(voice!).voice as { firstBytesHex: string; contentType: string };
    expect(file.firstBytesHex).toBe('4f676753');
    expect(Number(bodyOf(voice!).reply_to_message_id)).toBe(61);
    expect(h.sent('sendMessage', chat)).toHaveLength(0);
  });

  it('should answer a voice prompt with text when allow_audio_output is off', async () => {
    h = await harness.start();
    const chat = newChatId();
    h.sandbox.registerFile({ fileId: 'v-text', transcript: 'tell me a joke' });
    await h.postUpdate(voiceUpdate(chat, 'v-text'));
    const [reply] = await h.waitForSent('sendMessage', chat, 1);
    expect(textOf(reply!)).toBe('Echo: tell me a joke');
    expect(h.sent('sendVoice', chat)).toHaveLength(0);
  });

  it('should fall back to text when text-to-speech fails', async () => {
    h = await harness.start({ settings: { allow_audio_output: true } });
    const chat = newChatId();
    h.sandbox.registerFile({ fileId: 'v-fallback', transcript: 'say something' });
    h.sandbox.setFault({ service: 'elevenlabs', method: 'text-to-speech', type: 'status', status: 500 });
    await h.postUpdate(voiceUpdate(chat, 'v-fallback'));
    const [reply] = await h.waitForSent('sendMessage', chat, 1);
    expect(textOf(reply!)).toBe('Echo: say something');
    expect(h.sent('sendVoice', chat)).toHaveLength(0);
  });

  it('should reply with the token of the bot that took the prompt when two bots run at once', async () => {
    const [a, b] = [newBot(), newBot()];
    h = await harness.start({ bots: [a, b] });
    const chatA = newChatId();
    const chatB = newChatId();
    await h.postUpdate(textUpdate(chatA, 'from bot a'), a);
    await h.postUpdate(textUpdate(chatB, 'from bot b'), b);
    const [replyA] = await h.waitForSent('sendMessage', chatA, 1);
    const [replyB] = await h.waitForSent('sendMessage', chatB, 1);
    expect(replyA!.botId).toBe(a.token.split(':')[0]);
    expect(replyB!.botId).toBe(b.token.split(':')[0]);
    expect(textOf(replyA!)).toBe('Echo: from bot a');
    expect(textOf(replyB!)).toBe('Echo: from bot b');
  });

  it('should say once that the result could not be processed when Telegram refuses it, without secrets', async () => {
    h = await harness.start();
    const chat = newChatId();
    const bot = h.bots[0]!;
    h.sandbox.setFault({
      service: 'telegram',
      method: 'sendMessage',
      chatId: chat,
      type: 'status',
      status: 400,
      description: `Bad Request: message is too weird for ${bot.token}`,
      times: 1,
    });
    await h.postUpdate(textUpdate(chat, 'anything'));
    const [reply] = await h.waitForSent('sendMessage', chat, 1);
    expect(textOf(reply!)).toMatch(/^❌ Error processing cursor command result: /);
    expect(textOf(reply!)).not.toContain(bot.token);
    await waitFor(() => h!.sent('sendMessage', chat).length === 2);
    expect(h.sent('sendMessage', chat).filter(c => c.status === 200)).toHaveLength(1);
  });

  it('should resume a split answer after the parts an earlier attempt sent or may have sent', async () => {
    h = await harness.start();
    const chat = newChatId();
    const requestId = randomName('telegram-resume');
    await savePromptState(h, requestId, chat, 9);
    // An earlier attempt delivered part 0 and died while sending part 1 (outcome unknown).
    await h.redis.set(`${h.prefix}:ledger:${requestId}:reply:0`, 'done');
    await h.redis.set(`${h.prefix}:ledger:${requestId}:reply:1`, 'pending');
    const output = Array.from({ length: 400 }, (_, i) => `line ${i} of a long answer`).join('\n');
    const parts = splitMessage(output);
    expect(parts.length).toBeGreaterThanOrEqual(3);
    await enqueueResult(h, requestId, output);
    await waitFor(async () => (await h!.redis.exists(callbackStateKey(h!.prefix, requestId))) === 0);
    expect(h.sent('sendMessage', chat).map(textOf)).toEqual(parts.slice(2));
  });

  it('should keep the state while delivery is retried, and delete it once delivered', async () => {
    h = await harness.start();
    const chat = newChatId();
    const requestId = randomName('telegram-manual');
    await savePromptState(h, requestId, chat, 5);
    h.sandbox.setFault({
      service: 'telegram',
      method: 'sendMessage',
      chatId: chat,
      type: 'status',
      status: 500,
      times: 2,
    });
    await enqueueResult(h, requestId, 'done!', { attempts: 3, backoff: { type: 'fixed', delay: 200 } });
    await waitFor(() => h!.sent('sendMessage', chat).length >= 2);
    expect(await h.redis.exists(callbackStateKey(h.prefix, requestId))).toBe(1);
    const [reply] = await h.waitForSent('sendMessage', chat, 1);
    expect(textOf(reply!)).toBe('done!');
    await waitFor(async () => (await h!.redis.exists(callbackStateKey(h!.prefix, requestId))) === 0);
  });

  it('should scrub known secrets from agent output in messages and in output.txt', async () => {
    h = await harness.start();
    const leak = `config: WEBHOOK_SECRET=${WEBHOOK_SECRET} key=${ELEVENLABS_KEY} token=${h.bots[0]!.token}`;
    for (const [size, method] of [
      [0, 'sendMessage'],
      [60_000, 'sendDocument'],
    ] as const) {
      const chat = newChatId();
      const requestId = randomName('telegram-leak');
      await savePromptState(h, requestId, chat, 5);
      const output = `${leak}\n${'x'.repeat(size)}`;
      await enqueueResult(h, requestId, output);
      const [call] = await h.waitForSent(method, chat, 1);
      // A document's text is recorded by the sandbox as `textHead`; messages as their text.
      const seen = JSON.stringify(call!.body) + h.sent('sendMessage', chat).map(textOf).join('\n');
      if (method === 'sendDocument') expect(JSON.stringify(call!.body)).toContain('textHead');
      expect(seen).toContain('[REDACTED]');
      for (const secret of [WEBHOOK_SECRET, ELEVENLABS_KEY, h.bots[0]!.token]) {
        expect(seen).not.toContain(secret);
      }
    }
  });
});
