// The ops side of the metrics service against a real Redis and real BullMQ queues: Prometheus
// gauges, KEDA's /queues, readiness, and what it serves while Redis is unreachable.
import { once } from 'node:events';
import {
  LaneWriter,
  QUEUE_NAMES,
  SIDE_QUEUE_NAMES,
  closeConnection,
  createLogger,
  createProducerConnection,
  createWorkerConnection,
  loadConfig,
  createMetricsRegistry,
} from '@telegram-receiver/core';
import { RedisServer, randomName, waitFor } from '@telegram-receiver/testing';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { metricsEnv } from '../src/env.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetricsService, type MetricsService } from '../src/metrics-service.ts';

describe('metrics service ops listener', () => {
  let redisServer: RedisServer;
  let redis: Redis;
  let service: MetricsService;
  let base: string;
  let prefix: string;

  const get = async (path: string) => {
    const res = await fetch(base + path);
    const text = await res.text();
    return { status: res.status, text, json: () => JSON.parse(text) as Record<string, unknown> };
  };

  beforeAll(async () => {
    redisServer = await RedisServer.start({ appendOnly: true });
    prefix = randomName('tr');
    const config = loadConfig(metricsEnv, {
      REDIS_URL: redisServer.url,
      QUEUE_PREFIX: prefix,
      METRICS_INTERVAL_MS: '50',
      METRICS_MAX_AGE_MS: '1500',
    });
    redis = createProducerConnection({ url: redisServer.url, name: 'metrics-test' });
    redis.on('error', () => undefined);
    // A producer connection queues nothing while it connects: the test's own writes wait for it.
    if (redis.status !== 'ready') await once(redis, 'ready');
    service = await createMetricsService({
      config,
      redis,
      logger: createLogger({ service: 'metrics-test', level: 'silent' }),
      registry: createMetricsRegistry(),
    });
    expect(service.api).toBeUndefined();
    base = `http://127.0.0.1:${await service.ops.listen(0, '127.0.0.1')}`;
  });
  afterAll(async () => {
    service.collector.stop();
    await service.collector.settled();
    await service.ops.close();
    await closeConnection(redis);
    await redisServer.close();
  });

  it('should not be ready and serve no value before the first read', async () => {
    expect((await get('/ready')).json()).toEqual({ status: 'not_ready', reason: 'starting' });
    expect((await get('/queues')).status).toBe(503);
    const text = (await get('/metrics')).text;
    expect(text).not.toContain('telegram_receiver_queue_backlog{');
    expect(text).toContain('telegram_receiver_queue_sample_age_seconds Nan');
    expect((await get('/health')).status).toBe(200);
  });

  it('should export backlog, pending lanes, oldest age and active per queue, in Prometheus and /queues', async () => {
    const acceptedAt = Date.now() - 3000;
    const queue = new Queue(QUEUE_NAMES.updates, { connection: redis, prefix });
    const item = (jobId: string, lane: string) => ({
      jobId,
      data: '{}',
      opts: '{}',
      lane: { bot: 'alpha', lane },
    });
    // One chat with 4 updates (1 waiting, 3 parked behind it) and one with 1: 5 items, 2 lanes.
    await new LaneWriter({ queue, redis, prefix }).append(
      'u',
      [
        item('u1', 'chat:1'),
        item('u2', 'chat:1'),
        item('u3', 'chat:2'),
        item('u4', 'chat:1'),
        item('u5', 'chat:1'),
      ],
      acceptedAt,
    );
    await queue.close();
    service.collector.start();
    await waitFor(async () => (await get('/ready')).status === 200, {
      message: 'ready after the first read',
    });
    const queues = await waitFor(async () => {
      const body = (await get('/queues')).json();
      return (body.queues as Record<string, { backlog: number }>).updates?.backlog === 5 && body;
    });
    expect(queues).toMatchObject({
      fresh: true,
      queues: {
        updates: { backlog: 5, pendingLanes: 2, active: 0, waiting: 5, paused: false },
        callbacks: { backlog: 0, pendingLanes: 0, oldestAgeSeconds: 0 },
      },
    });
    const { updates } = queues.queues as Record<string, { oldestAgeSeconds: number }>;
    expect(updates!.oldestAgeSeconds).toBeGreaterThanOrEqual(3);
    expect(queues.ageSeconds).toBeLessThan(1);
    const text = (await get('/metrics')).text;
    expect(text).toContain('telegram_receiver_queue_backlog{queue="updates"} 5');
    expect(text).toContain('telegram_receiver_queue_pending_lanes{queue="updates"} 2');
    expect(text).toContain('telegram_receiver_queue_active{queue="callbacks"} 0');
    expect(text).toMatch(/telegram_receiver_queue_oldest_age_seconds\{queue="updates"\} (3|4)\.\d+/);
    expect(text).toContain('telegram_receiver_queue_sample_age_seconds');
  });

  it("should export the notices queue's dead letters, and no scaling signal for it", async () => {
    // A still-working check that failed for good, as the worker fails one (a real BullMQ failed job).
    const notices = new Queue(SIDE_QUEUE_NAMES.notices, { connection: redis, prefix });
    await notices.add('still-working', { requestId: 'r1', bot: 'alpha', chatId: 1, reason: 'handoff' });
    await notices.close();
    const connection = createWorkerConnection({ url: redisServer.url, name: 'metrics-test-notices' });
    const worker = new Worker(
      SIDE_QUEUE_NAMES.notices,
      () => Promise.reject(new UnrecoverableError('chat not found')),
      { connection, prefix },
    );
    worker.on('error', () => undefined);
    await once(worker, 'failed');
    await worker.close();
    await closeConnection(connection);

    const text = await waitFor(async () => {
      const body = (await get('/metrics')).text;
      return body.includes('telegram_receiver_queue_dead_letters{queue="notices"} 1') && body;
    });
    expect(text).toContain('telegram_receiver_queue_dead_letters{queue="updates"} 0');
    expect(text).toMatch(/telegram_receiver_queue_dead_letter_oldest_age_seconds\{queue="notices"\} \d/);
    for (const scaling of ['backlog', 'pending_lanes', 'oldest_age_seconds', 'active']) {
      expect(text).not.toContain(`telegram_receiver_queue_${scaling}{queue="notices"}`);
    }
    expect(text).toContain('telegram_receiver_queue_pending_lanes{queue="updates"} 2');
    // KEDA's /queues is the scaling signal too: the job queues only.
    expect(Object.keys((await get('/queues')).json().queues as object)).toEqual(['updates', 'callbacks']);
  });

  it('should turn not ready when Redis is unreachable, serve the last value as not fresh with its age, then none', async () => {
    await redisServer.stop();
    await waitFor(async () => (await get('/ready')).status === 503, {
      message: 'not ready once Redis is gone',
    });
    const stale = (await get('/queues')).json();
    expect(stale.fresh).toBe(false);
    expect(stale.queues).toMatchObject({ updates: { backlog: 5 } });
    await waitFor(async () => (await get('/queues')).status === 503, {
      message: 'no value past METRICS_MAX_AGE_MS',
    });
    expect((await get('/queues')).json()).toMatchObject({ error: 'no_fresh_sample' });
    const text = (await get('/metrics')).text;
    expect(text).not.toContain('telegram_receiver_queue_backlog{');
    const age = /^telegram_receiver_queue_sample_age_seconds (\S+)$/m.exec(text)?.[1];
    expect(Number(age)).toBeGreaterThan(1.5);

    await redisServer.restart();
    await waitFor(async () => (await get('/ready')).status === 200, {
      message: 'ready again once Redis is back',
    });
    expect((await get('/queues')).json()).toMatchObject({ fresh: true, queues: { updates: { backlog: 5 } } });
  });
});
