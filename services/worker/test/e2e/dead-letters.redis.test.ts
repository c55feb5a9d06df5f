// Dead letters through real processes (redis-server, sandbox, gateway, worker): a poison update
// lands there after its attempts, its chat goes on, the operator lists and inspects it (no secret),
// replays it once the fault is gone (answered, after what the chat had pending), and discards
// another; a replay that fails again is a dead letter once more, and nothing loops.
import { adminCall, waitFor } from '@telegram-receiver/testing';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HELP_TEXT, STATUS_TEXT } from '../../src/updates/local-commands.ts';
import {
  WEBHOOK_SECRET,
  messageUpdate,
  newChat,
  sentText,
  startStack,
  type RecordedCall,
  type Stack,
} from './stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

/** The admin API (ADMIN_SECRET falls back to WEBHOOK_SECRET, as the seed). */
const admin = (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) =>
  adminCall({ url: stack.adminUrl, secret: WEBHOOK_SECRET, method, path, body });

async function sentTo(chat: number): Promise<RecordedCall[]> {
  return (await stack.calls({ service: 'telegram', method: 'sendMessage', chatId: chat })).sort(
    (a, b) => a.seq - b.seq,
  );
}

/** Telegram answers 500 to every sendMessage of `chat` until the faults are cleared: each attempt fails. */
async function breakSends(chat: number): Promise<void> {
  await stack.fault({
    service: 'telegram',
    method: 'sendMessage',
    chatId: chat,
    type: 'status',
    status: 500,
    description: `Internal Server Error; key ${WEBHOOK_SECRET}`,
    times: 1000,
  });
}

async function deadLetterOf(chat: number, notId?: string): Promise<Listed> {
  const [item] = await waitFor(
    async () => {
      const listed = await deadLettersOf(chat);
      return listed.length === 1 && listed[0]!.id !== notId ? listed : undefined;
    },
    { timeoutMs: 60_000 },
  );
  return item!;
}

interface Listed {
  id: string;
  lane: string;
  reason: string;
  attempts: number;
  replayOf: string | null;
}

async function deadLettersOf(chat: number): Promise<Listed[]> {
  const answer = await admin('GET', `/admin/dead-letters?queue=updates&chat=${chat}`);
  expect(answer.status).toBe(200);
  return answer.json.items as Listed[];
}

describe('dead letters, end to end', () => {
  it('should list, inspect without secrets, replay in order once the fault is gone, and discard', async () => {
    const chat = newChat();
    // Every send to the chat fails: the /help update fails its 5 attempts and becomes a dead letter.
    await breakSends(chat);
    expect(await stack.postUpdate(messageUpdate(chat, { text: '/help' }, 1))).toBe(200);
    const letter = await deadLetterOf(chat);
    expect(letter).toMatchObject({ lane: `chat:${chat}`, attempts: 5, replayOf: null });
    expect(letter.reason).toContain('Internal Server Error');
    expect(letter.reason).not.toContain(WEBHOOK_SECRET);

    const inspected = await admin('GET', `/admin/dead-letters/updates/${letter.id}`);
    expect(inspected.status).toBe(200);
    expect(inspected.json.item).toMatchObject({
      id: letter.id,
      data: { update: { message: { text: '/help' } } },
    });
    for (const secret of [WEBHOOK_SECRET, ...stack.bots.flatMap(b => [b.token, b.webhookSecret])]) {
      expect(inspected.text).not.toContain(secret);
    }

    // Telegram is back; the chat goes on at once, and the replay comes after what it had pending.
    await stack.clearFaults();
    expect(await stack.postUpdate(messageUpdate(chat, { text: '/status' }, 2))).toBe(200);
    const [statusReply] = await stack.waitForSent('sendMessage', chat, 1, 30_000);
    expect(sentText(statusReply!)).toBe(STATUS_TEXT);
    const replayed = await admin('POST', `/admin/dead-letters/updates/${letter.id}/replay`);
    expect(replayed.json.result).toEqual({ id: letter.id, outcome: 'replayed', newId: `${letter.id}-r1` });
    const answers = await stack.waitForSent('sendMessage', chat, 2, 30_000);
    expect(sentText(answers[1]!)).toBe(HELP_TEXT);
    expect(await deadLettersOf(chat)).toEqual([]);
    // Replaying it again finds nothing: the dead letter is gone, not duplicated.
    expect((await admin('POST', `/admin/dead-letters/updates/${letter.id}/replay`)).status).toBe(404);
    await stack.settled();
    expect((await sentTo(chat)).filter(c => c.status === 200)).toHaveLength(2);

    // Another dead letter, discarded.
    const doomed = newChat();
    await breakSends(doomed);
    await stack.postUpdate(messageUpdate(doomed, { text: '/help' }, 1));
    const gone = await deadLetterOf(doomed);
    expect((await admin('DELETE', `/admin/dead-letters/updates/${gone.id}`)).json).toEqual({
      ok: true,
      discarded: gone.id,
    });
    expect(await deadLettersOf(doomed)).toEqual([]);
    expect((await admin('GET', `/admin/dead-letters/updates/${gone.id}`)).status).toBe(404);
    await stack.clearFaults();
  }, 180_000);

  it('should make a replay that fails again a dead letter once more, and never loop', async () => {
    const chat = newChat();
    await breakSends(chat);
    await stack.postUpdate(messageUpdate(chat, { text: '/help' }, 1));
    const first = await deadLetterOf(chat);
    // Still broken: the replay fails its attempts too, and is a dead letter again.
    await admin('POST', '/admin/dead-letters/updates/replay', { ids: [first.id] });
    const second = await deadLetterOf(chat, first.id);
    expect(second).toMatchObject({ id: `${first.id}-r1`, replayOf: first.id, attempts: 5 });
    await stack.settled();
    const tries = (await sentTo(chat)).length;
    // Nothing replays by itself: no more send attempts once both jobs are done.
    await new Promise(resolve => setTimeout(resolve, 3000));
    expect((await sentTo(chat)).length).toBe(tries);
    const stats = await admin('GET', '/admin/dead-letters/stats');
    expect((stats.json.queues as { updates: { count: number } }).updates.count).toBeGreaterThanOrEqual(1);
    await stack.clearFaults();
  }, 180_000);

  it('should refuse bad admin input with a clear 400, and a wrong secret with 401', async () => {
    for (const path of [
      '/admin/dead-letters?queue=nope',
      '/admin/dead-letters?limit=0',
      '/admin/dead-letters?chat=abc',
      '/admin/dead-letters?min_age=-1',
      '/admin/dead-letters/nope/x',
      '/admin/dead-letters/updates/bad%20id',
    ]) {
      const answer = await admin('GET', path);
      expect({ path, status: answer.status }).toEqual({ path, status: 400 });
      expect(typeof answer.json.error).toBe('string');
    }
    expect((await admin('POST', '/admin/dead-letters/updates/replay', { ids: [] })).status).toBe(400);
    expect((await admin('POST', '/admin/dead-letters/updates/replay', { nope: 1 })).status).toBe(400);
    const res = await request(`${stack.adminUrl}/admin/dead-letters`, {
      headers: { 'x-admin-secret': 'wrong' },
    });
    await res.body.dump();
    expect(res.statusCode).toBe(401);
  });
});
