import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import type { SandboxCall } from '@telegram-receiver/sandbox';
import { waitFor } from '@telegram-receiver/testing';
import { NOTICE_TEXTS } from '../../src/notices/notice-processor.ts';
import { NOTICE_QUEUE, NoticeScheduler, type NoticeJobData } from '../../src/notices/notice-scheduler.ts';
import type { WorkerMetrics } from '../../src/metrics.ts';
import { newChatId, textOf, textUpdate, useHarnesses, type Harness } from '../processors/harness.ts';

// The "still working" notice through the real worker service: real Redis, real BullMQ, real HTTP to
// the sandbox (cursor-runner and Telegram), with the sandbox's faults making the hand-off or the
// answer's send end with an unknown outcome. Clients give up after 500 ms; checks are due 1 s later.

const CLIENT_TIMEOUT_MS = 500;
const harness = useHarnesses();
const opened: Queue[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map(q => q.close()));
});

function noticeQueue(h: Harness): Queue<NoticeJobData> {
  const queue = new Queue<NoticeJobData>(NOTICE_QUEUE, { connection: h.redis, prefix: h.prefix });
  opened.push(queue);
  return queue;
}

/** Wait until `n` checks have finished and none is left to run; returns their results. */
async function checksDone(h: Harness, n: number, timeoutMs = 10_000): Promise<unknown[]> {
  const queue = noticeQueue(h);
  return await waitFor(
    async () => {
      const left = await queue.getJobCountByTypes('delayed', 'waiting', 'active', 'prioritized');
      const done = await queue.getJobs(['completed', 'failed']);
      return left === 0 && done.length >= n ? done.map(j => j.returnvalue as unknown) : undefined;
    },
    { timeoutMs, message: `${n} still-working check(s) to finish` },
  );
}

const delivered = (h: Harness, chat: number): SandboxCall[] =>
  h
    .sent('sendMessage', chat)
    .filter(c => c.status === 200)
    .sort((a, b) => a.seq - b.seq);

const notices = (h: Harness, chat: number) =>
  delivered(h, chat).filter(c => Object.values(NOTICE_TEXTS).includes(textOf(c)));

async function counted(metrics: WorkerMetrics): Promise<number> {
  const m = await metrics.noticesSent.get();
  return m.values.filter(v => v.labels.outcome === 'sent').reduce((sum, v) => sum + v.value, 0);
}

/** A fault on the chat's next Telegram sends. */
function sendFault(
  h: Harness,
  chatId: number,
  rule: { type: 'timeout' } | { type: 'status'; status: number },
  times: number,
): void {
  h.sandbox.setFault({ service: 'telegram', method: 'sendMessage', chatId, times, ...rule });
}

/** The hand-off is held without an answer: the client times out, and cursor-runner never runs the prompt. */
function lostHandOff(h: Harness): void {
  h.sandbox.setFault({ service: 'cursor-runner', method: 'iterate-async', type: 'timeout', times: 1 });
}

/** The hand-off's ack is held past the client's deadline; cursor-runner then runs the prompt (or never does). */
function slowAck(h: Harness, ms: number): void {
  h.sandbox.setFault({ service: 'cursor-runner', method: 'iterate-async', type: 'latency', ms, times: 1 });
}

describe('still-working notice (createNoticeProcessor through the worker service)', () => {
  it('should send exactly one notice when the hand-off timed out and no answer came', async () => {
    const h = await harness.start({ clientTimeoutMs: CLIENT_TIMEOUT_MS, stillWorkingNoticeSeconds: 1 });
    const chat = newChatId();
    lostHandOff(h);
    await h.postUpdate(textUpdate(chat, 'lost in the hand-off', 41));
    const [notice] = await h.waitForSent('sendMessage', chat, 1);
    expect(textOf(notice!)).toBe(NOTICE_TEXTS.handoff);
    expect((notice!.body as { reply_to_message_id?: number }).reply_to_message_id).toBe(41);
    expect(await checksDone(h, 1)).toEqual([{ outcome: 'sent' }]);
    expect(delivered(h, chat)).toHaveLength(1);
    expect(await counted(h.service.metrics)).toBe(1);
  });

  it('should send no notice when the answer arrived before the check was due', async () => {
    const h = await harness.start({ clientTimeoutMs: CLIENT_TIMEOUT_MS, stillWorkingNoticeSeconds: 2 });
    const chat = newChatId();
    // The ack comes after the client gave up (unknown outcome), but cursor-runner ran the prompt.
    slowAck(h, 800);
    await h.postUpdate(textUpdate(chat, 'answered in time'));
    const [answer] = await h.waitForSent('sendMessage', chat, 1);
    expect(textOf(answer!)).toContain('answered in time');
    expect(await checksDone(h, 1)).toEqual([{ outcome: 'answered' }]);
    expect(delivered(h, chat)).toHaveLength(1);
    expect(await counted(h.service.metrics)).toBe(0);
  });

  it('should send the notice first and the late answer once after it', async () => {
    const h = await harness.start({ clientTimeoutMs: CLIENT_TIMEOUT_MS, stillWorkingNoticeSeconds: 1 });
    const chat = newChatId();
    slowAck(h, 700);
    // cursor-runner answers 2.5 s after its (late) ack: well after the check, due 1 s after the timeout.
    await h.postUpdate(textUpdate(chat, 'slow one [[delay:2500]]'));
    const [first, second] = await h.waitForSent('sendMessage', chat, 2);
    expect(textOf(first!)).toBe(NOTICE_TEXTS.handoff);
    expect(textOf(second!)).toContain('slow one');
    await waitFor(async () => (await h.redis.exists(`${h.prefix}:callback:${requestOf(h)}`)) === 0, {
      message: 'the callback to finish',
    });
    expect(delivered(h, chat)).toHaveLength(2);
  });

  it('should make the answer wait for a notice on its way, then deliver it once', async () => {
    // Clients wait 3 s here, so the notice's send can be held 2 s without timing out.
    const h = await harness.start({ clientTimeoutMs: 3000, stillWorkingNoticeSeconds: 1 });
    const chat = newChatId();
    // Hand-off unknown at 3 s, check due at 4 s, notice held until 6 s; the answer arrives at about 5 s.
    slowAck(h, 3200);
    h.sandbox.setFault({
      service: 'telegram',
      method: 'sendMessage',
      chatId: chat,
      type: 'latency',
      ms: 2000,
      times: 1,
    });
    await h.postUpdate(textUpdate(chat, 'overlap [[delay:1800]]'));
    const [notice, answer] = await h.waitForSent('sendMessage', chat, 2, 15_000);
    expect(textOf(notice!)).toBe(NOTICE_TEXTS.handoff);
    expect(textOf(answer!)).toContain('overlap');
    // The answer met the notice in flight and waited for it to finish (not merely to start).
    expect(h.logLines.some(l => l.includes('StepInFlightError'))).toBe(true);
    expect(answer!.at - notice!.at).toBeGreaterThanOrEqual(1900);
    expect(delivered(h, chat)).toHaveLength(2);
  });

  it('should send the notice after the worker that scheduled it stopped (another worker takes the check)', async () => {
    const h = await harness.start({ clientTimeoutMs: CLIENT_TIMEOUT_MS, stillWorkingNoticeSeconds: 1 });
    const chat = newChatId();
    lostHandOff(h);
    await h.postUpdate(textUpdate(chat, 'who will tell me'));
    const queue = noticeQueue(h);
    await waitFor(async () => (await queue.getJobCountByTypes('delayed')) === 1, {
      message: 'the check to be scheduled',
    });
    await h.service.stop();
    await h.addService();
    const [notice] = await h.waitForSent('sendMessage', chat, 1);
    expect(textOf(notice!)).toBe(NOTICE_TEXTS.handoff);
    expect(await checksDone(h, 1)).toEqual([{ outcome: 'sent' }]);
  });

  it('should send one notice across two workers and a check that runs again', async () => {
    const h = await harness.start({ clientTimeoutMs: CLIENT_TIMEOUT_MS, stillWorkingNoticeSeconds: 1 });
    const other = await h.addService();
    const chat = newChatId();
    lostHandOff(h);
    // The first notice send is refused with a 502 (the client's two tries): certainly not sent, so
    // the check is retried by BullMQ, on whichever worker takes it.
    sendFault(h, chat, { type: 'status', status: 502 }, 2);
    await h.postUpdate(textUpdate(chat, 'one notice please'));
    await h.waitForSent('sendMessage', chat, 1);
    await checksDone(h, 1);
    // The same check again (a duplicate, or a re-run after a crash) and the other reason's check.
    const scheduler = new NoticeScheduler({ connection: h.redis, prefix: h.prefix, delaySeconds: 1 });
    const requestId = requestOf(h);
    const base = { requestId, bot: h.bots[0]!.name, chatId: chat };
    await scheduler.queue.add('still-working', { ...base, reason: 'handoff' }, { delay: 100 });
    await scheduler.schedule({ ...base, reason: 'send' });
    await scheduler.close();
    const results = await checksDone(h, 3);
    expect(results.filter(r => (r as { outcome: string }).outcome === 'sent')).toHaveLength(1);
    expect(notices(h, chat)).toHaveLength(1);
    expect(delivered(h, chat)).toHaveLength(1);
    expect((await counted(h.service.metrics)) + (await counted(other.metrics))).toBe(1);
  });

  it('should send one "may not have reached you" notice when every message of the answer timed out', async () => {
    const h = await harness.start({ clientTimeoutMs: CLIENT_TIMEOUT_MS, stillWorkingNoticeSeconds: 1 });
    const chat = newChatId();
    sendFault(h, chat, { type: 'timeout' }, 1);
    await h.postUpdate(textUpdate(chat, 'answer lost on the way'));
    const [notice] = await h.waitForSent('sendMessage', chat, 1);
    expect(textOf(notice!)).toBe(NOTICE_TEXTS.send);
    expect(await checksDone(h, 1)).toEqual([{ outcome: 'sent' }]);
    // The answer was tried once (its outcome unknown) and never repeated.
    expect(h.sent('sendMessage', chat)).toHaveLength(2);
    const m = await h.service.metrics.noticesSent.get();
    expect(m.values).toEqual([{ labels: { reason: 'send', outcome: 'sent' }, value: 1 }]);
  });

  it('should never send a notice when STILL_WORKING_NOTICE_SECONDS is 0', async () => {
    const h = await harness.start({ clientTimeoutMs: CLIENT_TIMEOUT_MS, stillWorkingNoticeSeconds: 0 });
    const chat = newChatId();
    lostHandOff(h);
    await h.postUpdate(textUpdate(chat, 'silence is fine'));
    await waitFor(async () => (await h.queues.updates.getJobCounts('completed')).completed === 1, {
      message: 'the update to finish',
    });
    const queue = noticeQueue(h);
    expect(await queue.getJobCountByTypes('delayed', 'waiting', 'active', 'completed', 'failed')).toBe(0);
    // A check scheduled before the setting went to 0 is dropped when due.
    const scheduler = new NoticeScheduler({ connection: h.redis, prefix: h.prefix, delaySeconds: 1 });
    await scheduler.schedule({
      requestId: requestOf(h),
      bot: h.bots[0]!.name,
      chatId: chat,
      reason: 'handoff',
    });
    await scheduler.close();
    expect(await checksDone(h, 1)).toEqual([{ outcome: 'off' }]);
    expect(h.sent('sendMessage', chat)).toHaveLength(0);
  });
});

/** The request id of the test's one prompt, as the worker handed it to cursor-runner. */
function requestOf(h: Harness): string {
  const [call] = h.sandbox.calls({ service: 'cursor-runner', method: 'iterate-async' });
  return String((call!.body as { id?: unknown }).id);
}
