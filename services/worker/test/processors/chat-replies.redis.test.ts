import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { TelegramClient, createHttpAgent, createLogger } from '@telegram-receiver/core';
import { startSandbox, type Sandbox } from '@telegram-receiver/sandbox';
import { RedisServer, randomName } from '@telegram-receiver/testing';
import { SendLedger } from '../../src/ledger/send-ledger.ts';
import { WorkerMetrics } from '../../src/metrics.ts';
import { ChatReplies, htmlToPlain } from '../../src/processors/chat-replies.ts';
import { newBot, newChatId } from './harness.ts';

let redisServer: RedisServer;
let redis: Redis;
let sandbox: Sandbox;
const agent = createHttpAgent();

beforeAll(async () => {
  redisServer = await RedisServer.start({ appendOnly: false });
  redis = new Redis(redisServer.url);
  sandbox = await startSandbox();
});

afterAll(async () => {
  await sandbox.close();
  await agent.close();
  redis.disconnect();
  await redisServer.close();
});

function replies(chatId: number) {
  const bot = newBot();
  return new ChatReplies({
    telegram: new TelegramClient({ token: bot.token, baseUrl: sandbox.url, agent }),
    ledger: new SendLedger({ redis, prefix: randomName('cr') }),
    metrics: new WorkerMetrics({ defaultMetrics: false }),
    logger: createLogger({ service: 'test', level: 'silent' }),
    chatId,
    replyTo: 3,
    keyPrefix: randomName('job'),
    botName: bot.name,
  });
}

describe('ChatReplies.text', () => {
  it('should resend as plain text when Telegram cannot parse the HTML', async () => {
    const chat = newChatId();
    const outcome = await replies(chat).text('reply', 'result: <b>unclosed &amp; done');
    expect(outcome.status).toBe('ran');
    const calls = sandbox.calls({ service: 'telegram', method: 'sendMessage', chatId: chat });
    expect(calls.map(c => c.status)).toEqual([400, 200]);
    expect((calls[1]!.body as { text: string; parse_mode?: string }).text).toBe('result: unclosed & done');
    expect((calls[1]!.body as { parse_mode?: string }).parse_mode).toBeUndefined();
  });

  it('should send a step once however often it is asked', async () => {
    const chat = newChatId();
    const r = replies(chat);
    const outcomes = await Promise.allSettled([
      r.text('reply', 'once'),
      r.text('reply', 'once'),
      r.text('reply', 'once'),
    ]);
    // One sends; the others meet it in flight (they would wait and look again) or done.
    expect(outcomes.filter(o => o.status === 'fulfilled' && o.value.status === 'ran')).toHaveLength(1);
    expect(await r.text('reply', 'once')).toEqual({ status: 'skipped', previous: 'done' });
    expect(sandbox.calls({ service: 'telegram', method: 'sendMessage', chatId: chat })).toHaveLength(1);
  });
});

describe('htmlToPlain', () => {
  it('should drop tags and decode the entities Telegram HTML uses', () => {
    expect(htmlToPlain('<pre><code>a &lt;b&gt; &amp;amp; &quot;c&quot;</code></pre>')).toBe(
      'a <b> &amp; "c"',
    );
    expect(htmlToPlain('')).toBe('');
    expect(htmlToPlain('5 < 6 and 7 > 3')).toBe('5 < 6 and 7 > 3');
  });
});
