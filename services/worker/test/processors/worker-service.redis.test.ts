import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import { laneListKey, laneMember, type TelegramUpdate } from '@telegram-receiver/core';
import { waitFor } from '@telegram-receiver/testing';
import { HELP_TEXT } from '../../src/updates/local-commands.ts';
import {
  newBot,
  newChatId,
  nextUpdateId,
  useHarnesses,
  textOf,
  textUpdate,
  type Harness,
} from './harness.ts';

const harness = useHarnesses();
let h: Harness | undefined;

describe('WorkerService.stop', () => {
  it('should let an active job finish before it stops', async () => {
    h = await harness.start();
    const chat = newChatId();
    h.sandbox.setFault({
      service: 'telegram',
      method: 'sendMessage',
      chatId: chat,
      type: 'latency',
      ms: 700,
    });
    await h.postUpdate(textUpdate(chat, '/help'));
    await waitFor(async () => (await h!.queues.updates.getActiveCount()) === 1);
    await h.service.stop();
    expect(
      h
        .sent('sendMessage', chat)
        .filter(c => c.status === 200)
        .map(textOf),
    ).toEqual([HELP_TEXT]);
    expect(await h.queues.updates.getCompletedCount()).toBe(1);
  });

  it('should stop within the grace period even when a job hangs', async () => {
    h = await harness.start({ shutdownGraceMs: 300, clientTimeoutMs: 10_000 });
    const chat = newChatId();
    h.sandbox.setFault({
      service: 'telegram',
      method: 'sendMessage',
      chatId: chat,
      type: 'timeout',
      ms: 8000,
    });
    await h.postUpdate(textUpdate(chat, '/help'));
    await waitFor(async () => (await h!.queues.updates.getActiveCount()) === 1);
    const started = Date.now();
    await h.service.stop();
    expect(Date.now() - started).toBeLessThan(3000);
    const health = await request(`${h.opsUrl}/health`).catch((err: unknown) => err);
    // The ops listener is closed too.
    expect(health).toBeInstanceOf(Error);
  });
});

describe('update processor: hostile and malformed jobs', () => {
  it('should finish malformed updates without crashing or sending anything, then keep serving', async () => {
    h = await harness.start();
    const chat = newChatId();
    const malformed: unknown[] = [
      { update_id: nextUpdateId(), message: 'not an object' },
      { update_id: nextUpdateId(), message: { message_id: 1, chat: { id: 'not-a-number' }, text: 'hi' } },
      { update_id: nextUpdateId(), message: { message_id: 'x', chat: { id: chat }, text: 'hi' } },
      { update_id: nextUpdateId(), message: { message_id: 1, chat: { id: chat }, voice: { file_id: 42 } } },
      { update_id: nextUpdateId(), callback_query: { from: { id: chat } } },
      { update_id: nextUpdateId(), edited_message: null },
      { update_id: nextUpdateId(), __proto__: { polluted: true }, constructor: { prototype: { x: 1 } } },
    ];
    for (const update of malformed) await h.postUpdate(update as TelegramUpdate);
    await waitFor(async () => (await h!.queues.updates.getCompletedCount()) === malformed.length);
    expect(await h.queues.updates.getFailedCount()).toBe(0);
    expect(h.sandbox.calls({ service: 'telegram' })).toHaveLength(0);
    expect(h.sandbox.calls({ service: 'cursor-runner' })).toHaveLength(0);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    await h.postUpdate(textUpdate(chat, '/help'));
    await h.waitForSent('sendMessage', chat, 1);
  });

  it('should answer an oversized prompt (200,000 characters) with a document, not a flood of messages', async () => {
    h = await harness.start();
    const chat = newChatId();
    await h.postUpdate(textUpdate(chat, `${'x'.repeat(200_000)}`));
    const [doc] = await h.waitForSent('sendDocument', chat, 1);
    expect((doc!.body as { document: { size: number } }).document.size).toBeGreaterThan(200_000);
    expect(h.sent('sendMessage', chat)).toHaveLength(1);
  });

  it('should drop an update for a bot it does not know and free the chat for the next update', async () => {
    const known = newBot();
    h = await harness.start({ bots: [known] });
    const chat = newChatId();
    const ghost = newBot();
    const update = textUpdate(chat, 'from nowhere');
    // The lane belongs to the bot, so the ghost update must not block the known bot's chat either way.
    await h.postUpdate(update, ghost);
    await waitFor(async () => (await h!.queues.updates.getCompletedCount()) === 1);
    await waitFor(
      async () =>
        (await h!.redis.exists(laneListKey(h!.prefix, laneMember(ghost.name, `chat:${chat}`), 'updates'))) ===
        0,
    );
    await h.postUpdate(textUpdate(chat, '/status'), known);
    await h.waitForSent('sendMessage', chat, 1);
    expect(h.sandbox.calls({ service: 'cursor-runner' })).toHaveLength(0);
  });

  it('should move a poison update aside after its attempts so the chat goes on', async () => {
    h = await harness.start({ attempts: 2 });
    const chat = newChatId();
    // Telegram refuses every reply to the first message: a non-retryable 400.
    h.sandbox.setFault({
      service: 'telegram',
      method: 'sendMessage',
      chatId: chat,
      type: 'status',
      status: 403,
      description: 'Forbidden: bot was blocked by the user',
      times: 2,
    });
    await h.postUpdate(textUpdate(chat, '/help', 1));
    await h.postUpdate(textUpdate(chat, '/status', 2));
    const [reply] = await h.waitForSent('sendMessage', chat, 1);
    expect((reply!.body as { reply_to_message_id: number }).reply_to_message_id).toBe(2);
    expect(await h.queues.updates.getFailedCount()).toBe(1);
  });
});
