// The still-working notice through real processes (redis-server, sandbox, gateway, worker): the
// hand-off to cursor-runner times out and no answer comes; the worker that scheduled the check is
// SIGKILLed before it is due, and the worker started after it sends the one notice.
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { waitFor } from '@telegram-receiver/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { NOTICE_TEXTS } from '../../src/notices/notice-processor.ts';
import { NOTICE_QUEUE } from '../../src/notices/notice-scheduler.ts';
import { messageUpdate, newChat, sentText, startStack, type Stack } from './stack.ts';

let stack: Stack | undefined;
let redis: Redis | undefined;
let checks: Queue | undefined;
afterAll(async () => {
  await checks?.close();
  redis?.disconnect();
  await stack?.close();
});

describe('still-working notice (worker main)', () => {
  it('should send one notice after the worker that scheduled the check was SIGKILLed', async () => {
    stack = await startStack({ stillWorkingNoticeSeconds: 2, cursorRunnerTimeoutSec: 1 });
    redis = new Redis(stack.redis.url);
    checks = new Queue(NOTICE_QUEUE, { connection: redis, prefix: stack.prefix });
    const chat = newChat();
    await stack.fault({ service: 'cursor-runner', method: 'iterate-async', type: 'timeout', times: 1 });
    expect(await stack.postUpdate(messageUpdate(chat, { text: 'anyone there?' }, 7))).toBe(200);
    await stack.settled();
    expect(await checks.getJobCountByTypes('delayed')).toBe(1);
    const killedAt = Date.now();
    await stack.worker.stop('SIGKILL');
    await stack.addWorker();
    const [notice] = await stack.waitForSent('sendMessage', chat, 1);
    expect(sentText(notice!)).toBe(NOTICE_TEXTS.handoff);
    expect(notice!.body.reply_to_message_id).toBe(7);
    // Sent by the new worker: the check was still delayed in Redis when its scheduler died.
    expect(notice!.at).toBeGreaterThan(killedAt);
    await waitFor(async () => (await checks!.getJobCountByTypes('completed')) === 1, {
      message: 'the check to complete',
    });
    expect(await stack.calls({ service: 'telegram', method: 'sendMessage', chatId: chat })).toHaveLength(1);
  }, 60_000);
});
