import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import { freePort, waitFor } from '@telegram-receiver/testing';
import { HELP_TEXT } from '../../src/updates/local-commands.ts';
import { callbackStateKey } from '@telegram-receiver/core';
import { TEXTS } from '../../src/processors/update-processor.ts';
import {
  ELEVENLABS_KEY,
  WEBHOOK_SECRET,
  newChatId,
  useHarnesses,
  textOf,
  textUpdate,
  voiceUpdate,
  type Harness,
} from './harness.ts';

// Whatever failed upstream, the worker must still be alive and its logs free of secrets.
const harness = useHarnesses(async h => {
  const health = await request(`${h.opsUrl}/health`);
  expect(health.statusCode).toBe(200);
  await health.body.dump();
  const logs = h.logLines.join('');
  for (const bot of h.bots) {
    expect(logs).not.toContain(bot.token);
    expect(logs).not.toContain(bot.webhookSecret);
  }
  expect(logs).not.toContain(ELEVENLABS_KEY);
  expect(logs).not.toContain(WEBHOOK_SECRET);
});
let h: Harness | undefined;

const ok = (h: Harness, method: string, chat: number) => h.sent(method, chat).filter(c => c.status === 200);

describe('upstream failures: Telegram', () => {
  it('should wait out a 429 retry_after and then reply once', async () => {
    h = await harness.start({ attempts: 1 });
    const chat = newChatId();
    h.sandbox.setFault({
      service: 'telegram',
      method: 'sendMessage',
      chatId: chat,
      type: 'status',
      status: 429,
      retryAfter: 1,
      times: 1,
    });
    const posted = Date.now();
    await h.postUpdate(textUpdate(chat, '/help'));
    const [reply] = await h.waitForSent('sendMessage', chat, 1);
    // Delayed, not failed: with a single attempt, a counted retry would have been final.
    expect(Date.now() - posted).toBeGreaterThanOrEqual(1000);
    expect(textOf(reply!)).toBe(HELP_TEXT);
    expect(ok(h, 'sendMessage', chat)).toHaveLength(1);
  });

  it('should retry a Telegram 5xx and reply exactly once', async () => {
    h = await harness.start();
    const chat = newChatId();
    h.sandbox.setFault({
      service: 'telegram',
      method: 'sendMessage',
      chatId: chat,
      type: 'status',
      status: 500,
      times: 3,
    });
    await h.postUpdate(textUpdate(chat, '/help'));
    await h.waitForSent('sendMessage', chat, 1);
    expect(h.sent('sendMessage', chat)).toHaveLength(4);
    expect(ok(h, 'sendMessage', chat)).toHaveLength(1);
  });

  it('should not repeat a reply whose send timed out (it may have been delivered)', async () => {
    h = await harness.start({ clientTimeoutMs: 500 });
    const chat = newChatId();
    h.sandbox.setFault({
      service: 'telegram',
      method: 'sendMessage',
      chatId: chat,
      type: 'timeout',
      ms: 5000,
      times: 1,
    });
    await h.postUpdate(textUpdate(chat, '/help'));
    const job = await waitFor(async () => {
      const completed = await h!.queues.updates.getCompleted();
      return completed.length > 0 ? completed[0] : undefined;
    });
    expect(job!.returnvalue).toMatchObject({ action: 'local-command' });
    await waitFor(() => h!.sent('sendMessage', chat).length === 1);
    expect(ok(h, 'sendMessage', chat)).toHaveLength(0);
  });

  it('should not repeat a reply answered by an HTML 502 from a proxy (ambiguous)', async () => {
    h = await harness.start();
    const chat = newChatId();
    h.sandbox.setFault({
      service: 'telegram',
      method: 'sendMessage',
      chatId: chat,
      type: 'html',
      status: 502,
      times: 1,
    });
    await h.postUpdate(textUpdate(chat, '/help'));
    await waitFor(async () => (await h!.queues.updates.getCompletedCount()) === 1);
    expect(h.sent('sendMessage', chat)).toHaveLength(1);
  });
});

describe('upstream failures: cursor-runner', () => {
  it('should retry when cursor-runner refuses connections, then tell the user once', async () => {
    const closed = await freePort();
    h = await harness.start({ cursorRunnerUrl: `http://127.0.0.1:${closed}` });
    const chat = newChatId();
    await h.postUpdate(textUpdate(chat, 'do the thing'));
    const [reply] = await h.waitForSent('sendMessage', chat, 1);
    expect(textOf(reply!)).toBe(TEXTS.cursorError('cursor-runner iterateAsync: could not connect'));
    const job = await waitFor(async () => (await h!.queues.updates.getCompleted())[0]);
    // Every attempt was used (3) before the user was told.
    expect(job!.attemptsMade).toBe(3);
    expect(h.sandbox.calls({ service: 'cursor-runner' })).toHaveLength(0);
    await waitFor(async () => (await h!.redis.keys(callbackStateKey(h!.prefix, '*'))).length === 0);
    expect(ok(h, 'sendMessage', chat)).toHaveLength(1);
  });

  it('should tell the user at once when cursor-runner rejects the prompt', async () => {
    h = await harness.start();
    const chat = newChatId();
    h.sandbox.setFault({
      service: 'cursor-runner',
      method: 'iterate-async',
      type: 'status',
      status: 404,
      description: 'Repository not found locally',
    });
    await h.postUpdate(textUpdate(chat, 'do the thing'));
    const [reply] = await h.waitForSent('sendMessage', chat, 1);
    expect(textOf(reply!)).toBe(TEXTS.cursorError('Repository not found locally'));
    expect(h.sandbox.calls({ service: 'cursor-runner', method: 'iterate-async' })).toHaveLength(1);
    expect(await h.redis.keys(callbackStateKey(h.prefix, '*'))).toHaveLength(0);
  });

  it('should not send a prompt again after cursor-runner timed out (it may be running)', async () => {
    // 1.5 s leaves room for the connection on a loaded machine; the sandbox holds the answer longer.
    h = await harness.start({ clientTimeoutMs: 1500 });
    const chat = newChatId();
    h.sandbox.setFault({
      service: 'cursor-runner',
      method: 'iterate-async',
      type: 'timeout',
      ms: 6000,
      times: 1,
    });
    await h.postUpdate(textUpdate(chat, 'slow thing'));
    await waitFor(async () => (await h!.queues.updates.getCompletedCount()) === 1, { timeoutMs: 15_000 });
    // A held call is recorded when the client gives up on it, which can trail the job by a moment.
    await waitFor(() => h!.sandbox.calls({ service: 'cursor-runner', method: 'iterate-async' }).length > 0);
    expect(h.sandbox.calls({ service: 'cursor-runner', method: 'iterate-async' })).toHaveLength(1);
    expect(h.sent('sendMessage', chat)).toHaveLength(0);
    // The state stays for the callback that may still come.
    expect(await h.redis.keys(callbackStateKey(h.prefix, '*'))).toHaveLength(1);
  });
});

describe('upstream failures: ElevenLabs', () => {
  it('should ride out ElevenLabs 429s and transcribe', async () => {
    h = await harness.start();
    const chat = newChatId();
    h.sandbox.registerFile({ fileId: 'v-429', transcript: 'busy day' });
    h.sandbox.setFault({
      service: 'elevenlabs',
      method: 'speech-to-text',
      type: 'status',
      status: 429,
      times: 2,
    });
    await h.postUpdate(voiceUpdate(chat, 'v-429'));
    const [reply] = await h.waitForSent('sendMessage', chat, 1, 15_000);
    expect(textOf(reply!)).toBe('Echo: busy day');
    expect(ok(h, 'sendMessage', chat)).toHaveLength(1);
  });

  it('should tell the user once when speech-to-text keeps failing, without the API key', async () => {
    h = await harness.start();
    const chat = newChatId();
    h.sandbox.setFault({
      service: 'elevenlabs',
      method: 'speech-to-text',
      type: 'status',
      status: 503,
      description: `upstream down for key ${ELEVENLABS_KEY}`,
    });
    await h.postUpdate(voiceUpdate(chat, 'v-503'));
    const [reply] = await h.waitForSent('sendMessage', chat, 1, 15_000);
    expect(textOf(reply!)).toMatch(
      /^❌ Error transcribing audio: .+\. Please try again or send a text message\.$/,
    );
    expect(textOf(reply!)).not.toContain(ELEVENLABS_KEY);
    await waitFor(async () => (await h!.queues.updates.getCompletedCount()) === 1);
    expect(h.sent('sendMessage', chat)).toHaveLength(1);
    expect(h.sandbox.calls({ service: 'cursor-runner' })).toHaveLength(0);
  });
});

describe('ops listener', () => {
  it('should serve health, readiness and metrics without secrets or chat text', async () => {
    h = await harness.start();
    const chat = newChatId();
    await h.postUpdate(textUpdate(chat, 'a secret plan'));
    await h.waitForSent('sendMessage', chat, 1);
    const ready = await request(`${h.opsUrl}/ready`);
    expect(ready.statusCode).toBe(200);
    expect(await ready.body.json()).toMatchObject({ status: 'ready' });
    const metrics = await request(`${h.opsUrl}/metrics`);
    const text = await metrics.body.text();
    expect(text).toMatch(/telegram_receiver_jobs_total\{queue="updates",result="completed"\} 1/);
    expect(text).toMatch(/telegram_receiver_jobs_total\{queue="callbacks",result="completed"\} 1/);
    expect(text).toMatch(
      /telegram_receiver_upstream_calls_total\{upstream="cursor-runner",method="iterateAsync",outcome="ok"\} 1/,
    );
    expect(text).toMatch(/telegram_receiver_replies_sent_total\{kind="text"\} 1/);
    expect(text).not.toContain('secret plan');
    expect(text).not.toContain(h.bots[0]!.token);
    expect(text).not.toContain(String(chat));
    const missing = await request(`${h.opsUrl}/nope`);
    expect(missing.statusCode).toBe(404);
    await missing.body.dump();
    const post = await request(`${h.opsUrl}/health`, { method: 'POST', body: 'x'.repeat(100_000) });
    expect(post.statusCode).toBe(405);
    await post.body.dump();
  });

  it('should report not ready once stopping', async () => {
    h = await harness.start();
    const url = h.opsUrl;
    const stopping = h.service.stop();
    const res = await request(`${url}/ready`).catch(() => undefined);
    if (res) {
      expect(res.statusCode).toBe(503);
      await res.body.dump();
    }
    await stopping;
    await harness.close();
  });
});
