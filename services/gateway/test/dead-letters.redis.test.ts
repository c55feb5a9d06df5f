// The dead-letter API for the worker's `notices` queue (still-working checks), against a private
// redis-server: a check that failed for good is a real BullMQ failed job, listed, inspected and
// discarded through the admin listener; a replay is refused (a notice is time-bound).
import { SIDE_QUEUE_NAMES, createWorkerConnection, closeConnection } from '@telegram-receiver/core';
import { RedisServer, adminCall } from '@telegram-receiver/testing';
import { UnrecoverableError, Worker } from 'bullmq';
import { once } from 'node:events';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BOT_A, CALLBACK_SECRET, startGateway, type TestGateway } from './harness.ts';

let server: RedisServer;
let tg: TestGateway;

beforeAll(async () => {
  server = await RedisServer.start();
});
afterAll(async () => {
  await server.close();
});
beforeEach(async () => {
  tg = await startGateway(server);
});
afterEach(async () => {
  await tg.close();
});

const admin = (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) =>
  adminCall({ url: tg.adminUrl, secret: CALLBACK_SECRET, method, path, body }).then(({ status, json }) => ({
    status,
    json,
  }));

/**
 * A still-working check that failed for good, the way the worker's notice processor fails one
 * (UnrecoverableError, secrets in the reason scrubbed by the API). Resolves with its job id.
 */
async function failedNotice(chatId: number, requestId: string): Promise<string> {
  const jobId = `notice-handoff-${requestId}`;
  await tg.queues.notices.add(
    'still-working',
    { requestId, bot: BOT_A.name, chatId, replyTo: 7, reason: 'handoff' },
    { jobId, attempts: 5 },
  );
  const connection = createWorkerConnection({ url: server.url, name: 'notices-test' });
  const worker = new Worker(
    SIDE_QUEUE_NAMES.notices,
    () => Promise.reject(new UnrecoverableError(`Bad Request: chat not found (${BOT_A.token})`)),
    { connection, prefix: tg.prefix },
  );
  worker.on('error', () => undefined);
  try {
    await once(worker, 'failed');
  } finally {
    await worker.close();
    await closeConnection(connection);
  }
  return jobId;
}

describe('GET /admin/dead-letters?queue=notices', () => {
  it('should list a failed notice with its bot and chat, filter by chat, inspect it without secrets, and count it', async () => {
    const id = await failedNotice(4242, 'req-1');

    const listed = await admin('GET', '/admin/dead-letters?queue=notices&chat=4242');
    expect(listed.status).toBe(200);
    expect(listed.json).toMatchObject({ ok: true, queue: 'notices', nextCursor: null });
    expect(listed.json.items).toEqual([
      expect.objectContaining({
        queue: 'notices',
        id,
        bot: BOT_A.name,
        lane: 'chat:4242',
        attempts: 1,
        replayOf: null,
      }),
    ]);
    const [item] = listed.json.items as { reason: string }[];
    expect(item!.reason).toContain('chat not found');
    expect(item!.reason).not.toContain(BOT_A.token);
    expect((await admin('GET', '/admin/dead-letters?queue=notices&chat=1')).json.items).toEqual([]);
    // Not mixed with the job queues' dead letters.
    expect((await admin('GET', '/admin/dead-letters?queue=updates')).json.items).toEqual([]);

    const inspected = await admin('GET', `/admin/dead-letters/notices/${id}`);
    expect(inspected.status).toBe(200);
    expect(inspected.json.item).toMatchObject({
      queue: 'notices',
      id,
      data: { requestId: 'req-1', chatId: 4242, reason: 'handoff' },
    });
    expect(JSON.stringify(inspected.json)).not.toContain(BOT_A.token);

    expect((await admin('GET', '/admin/dead-letters/stats')).json.queues).toMatchObject({
      updates: { count: 0, oldestAgeSeconds: null },
      callbacks: { count: 0, oldestAgeSeconds: null },
      notices: { count: 1 },
    });
  });

  it('should answer 400 for a queue that does not exist, naming the ones that do', async () => {
    const answer = await admin('GET', '/admin/dead-letters?queue=elsewhere');
    expect(answer).toEqual({
      status: 400,
      json: { ok: false, error: 'queue: queue must be one of "updates", "callbacks", "notices"' },
    });
  });
});

describe('POST /admin/dead-letters/notices/…/replay', () => {
  it('should answer 409 (a notice is time-bound) and keep the dead letter', async () => {
    const id = await failedNotice(4243, 'req-2');
    for (const [path, body] of [
      [`/admin/dead-letters/notices/${id}/replay`, undefined],
      ['/admin/dead-letters/notices/replay', { ids: [id] }],
    ] as const) {
      const answer = await admin('POST', path, body);
      expect(answer.status, path).toBe(409);
      expect(answer.json.ok).toBe(false);
      expect(answer.json.error).toMatch(/notices dead letters cannot be replayed.*time-bound.*discard it/);
    }
    expect((await admin('GET', `/admin/dead-letters/notices/${id}`)).status).toBe(200);
    expect(await tg.queues.notices.getJobCounts('wait', 'delayed', 'failed')).toEqual({
      wait: 0,
      delayed: 0,
      failed: 1,
    });
  });
});

describe('DELETE /admin/dead-letters/notices/:id', () => {
  it('should discard a failed notice for good', async () => {
    const id = await failedNotice(4244, 'req-3');
    expect(await admin('DELETE', `/admin/dead-letters/notices/${id}`)).toEqual({
      status: 200,
      json: { ok: true, discarded: id },
    });
    expect((await admin('GET', '/admin/dead-letters?queue=notices')).json.items).toEqual([]);
    expect((await admin('GET', `/admin/dead-letters/notices/${id}`)).status).toBe(404);
    expect((await admin('DELETE', `/admin/dead-letters/notices/${id}`)).status).toBe(404);
    expect(await tg.queues.notices.getJob(id)).toBeUndefined();
  });
});
