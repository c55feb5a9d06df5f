import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { ApiRejectedError, TelegramClient, createHttpAgent, createLogger } from '@telegram-receiver/core';
import { RedisServer, randomName } from '@telegram-receiver/testing';
import { SendLedger } from '../../src/ledger/send-ledger.ts';
import { WorkerMetrics } from '../../src/metrics.ts';
import { ChatReplies, migratedChatId } from '../../src/processors/chat-replies.ts';
import { newBot, newChatId } from './harness.ts';

// A group upgraded to a supergroup while a prompt ran: Telegram refuses the send with 400 and
// `parameters.migrate_to_chat_id` (external-apis §2.2). The answer must reach the supergroup, once.

interface Sent {
  method: string;
  chatId: number;
  replyTo: number | undefined;
  status: number;
}

let redisServer: RedisServer;
let redis: Redis;
let telegram: Server;
let telegramUrl: string;
const sent: Sent[] = [];
/** Old group id → supergroup id, as Telegram knows it. */
const migrated = new Map<number, number>();
const agent = createHttpAgent();

beforeAll(async () => {
  redisServer = await RedisServer.start({ appendOnly: false });
  redis = new Redis(redisServer.url);
  // A Bot API stand-in that answers exactly as Telegram does for a migrated group.
  telegram = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const method = (req.url ?? '').split('/').at(-1) ?? '';
      const type = req.headers['content-type'] ?? '';
      // JSON for messages; for uploads only the plain multipart fields are read.
      const body: Record<string, unknown> = type.includes('json')
        ? (JSON.parse(raw) as Record<string, unknown>)
        : Object.fromEntries(
            [...raw.matchAll(/name="([a-z_]+)"\r\n\r\n([^\r]*)\r\n/g)].map(m => [m[1], m[2]]),
          );
      const chatId = Number(body.chat_id);
      const replyTo = body.reply_to_message_id === undefined ? undefined : Number(body.reply_to_message_id);
      const target = migrated.get(chatId);
      const status = target === undefined ? 200 : 400;
      sent.push({ method, chatId, replyTo, status });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(
          target === undefined
            ? {
                ok: true,
                result: { message_id: sent.length, date: 1, chat: { id: chatId, type: 'supergroup' } },
              }
            : {
                ok: false,
                error_code: 400,
                description: 'Bad Request: group chat was upgraded to a supergroup chat',
                parameters: { migrate_to_chat_id: target },
              },
        ),
      );
    });
  });
  telegram.listen(0, '127.0.0.1');
  await once(telegram, 'listening');
  telegramUrl = `http://127.0.0.1:${(telegram.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>(resolve => telegram.close(() => resolve()));
  await agent.close();
  redis.disconnect();
  await redisServer.close();
});

function replies(chatId: number): ChatReplies {
  const bot = newBot();
  return new ChatReplies({
    telegram: new TelegramClient({ token: bot.token, baseUrl: telegramUrl, agent }),
    ledger: new SendLedger({ redis, prefix: randomName('mig') }),
    metrics: new WorkerMetrics({ defaultMetrics: false }),
    logger: createLogger({ service: 'test', level: 'silent' }),
    chatId,
    replyTo: 12,
    keyPrefix: randomName('job'),
    botName: bot.name,
  });
}

describe('ChatReplies after a group was upgraded to a supergroup', () => {
  it('should send the answer to the supergroup once, and every later part there too', async () => {
    const group = -newChatId();
    const supergroup = -1_000_000_000_000 - newChatId();
    migrated.set(group, supergroup);
    const r = replies(group);
    expect((await r.text('reply:0', 'part one')).status).toBe('ran');
    expect((await r.text('reply:1', 'part two')).status).toBe('ran');
    expect(r.chatId).toBe(supergroup);
    const mine = sent.filter(s => s.chatId === group || s.chatId === supergroup);
    expect(mine.map(s => [s.chatId, s.status])).toEqual([
      [group, 400],
      [supergroup, 200],
      [supergroup, 200],
    ]);
    // Message ids do not carry over: no reply-to into the supergroup.
    expect(mine.filter(s => s.chatId === supergroup).map(s => s.replyTo)).toEqual([undefined, undefined]);
  });

  it('should follow the migration for uploads too', async () => {
    const group = -newChatId();
    const supergroup = -1_000_000_000_000 - newChatId();
    migrated.set(group, supergroup);
    const outcome = await replies(group).document('document', {
      data: new TextEncoder().encode('long output'),
      filename: 'output.txt',
      contentType: 'text/plain',
    });
    expect(outcome.status).toBe('ran');
    expect(sent.filter(s => s.chatId === supergroup).map(s => [s.method, s.status])).toEqual([
      ['sendDocument', 200],
    ]);
  });

  it('should give up (throw) rather than loop when the supergroup is said to have moved again', async () => {
    const a = -newChatId();
    const b = -newChatId();
    migrated.set(a, b);
    migrated.set(b, a);
    await expect(replies(a).text('reply', 'ping-pong')).rejects.toBeInstanceOf(ApiRejectedError);
    expect(sent.filter(s => s.chatId === a || s.chatId === b)).toHaveLength(2);
  });
});

describe('migratedChatId', () => {
  it('should read the target only from a 400 with a well-formed migrate code', () => {
    const err = (status: number, code?: string) =>
      new ApiRejectedError({ service: 'telegram', method: 'sendMessage', status, description: 'x', code });
    expect(migratedChatId(err(400, 'migrate_to_chat_id:-1001234567890'))).toBe(-1001234567890);
    expect(migratedChatId(err(403, 'migrate_to_chat_id:-100123'))).toBeUndefined();
    expect(migratedChatId(err(400))).toBeUndefined();
    expect(migratedChatId(err(400, 'migrate_to_chat_id:abc'))).toBeUndefined();
    expect(migratedChatId(err(400, 'migrate_to_chat_id:99999999999999999999'))).toBeUndefined();
    expect(migratedChatId(new Error('migrate_to_chat_id:-100'))).toBeUndefined();
  });
});
