// A worker whose Redis is not there yet must still answer its liveness probe (a pod restarted for
// waiting would never become ready), say "not ready" on /ready, and start working once Redis is up.
import { createLogger, SecretRedactor } from '@telegram-receiver/core';
import { RedisServer, freePort, waitFor } from '@telegram-receiver/testing';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeWorkerConnections, createWorkerConnections } from '../../src/connections.ts';
import { createWorkerService } from '../../src/worker.ts';

const unused = () => Promise.reject(new Error('not used in this test'));

describe('WorkerService.start() while Redis is down', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start({ appendOnly: false });
    await redis.kill();
  });
  afterAll(async () => {
    await redis.close();
  });

  it('should answer /health at once, /ready 503, and become ready when Redis comes up', async () => {
    const opsPort = await freePort();
    const logger = createLogger({ service: 'worker-test', level: 'silent' });
    const connections = createWorkerConnections({ url: redis.url }, logger);
    const service = createWorkerService({
      connections,
      config: {
        QUEUE_PREFIX: 'wstart',
        OPS_PORT: opsPort,
        UPDATES_CONCURRENCY: 1,
        CALLBACKS_CONCURRENCY: 1,
        SHUTDOWN_GRACE_MS: 1000,
        TELEGRAM_WEBHOOK_BASE_URL: 'http://127.0.0.1:1',
        CURSOR_RUNNER_CALLBACK_URL: undefined,
        ELEVENLABS_CONCURRENCY: 1,
      },
      bots: { byName: () => undefined },
      telegram: { get: () => ({}) as never } as never,
      cursorRunner: { iterateAsync: unused },
      logger,
      redactor: new SecretRedactor([]),
      opsHost: '127.0.0.1',
      defaultMetrics: false,
    });
    const started = service.start();
    const ops = `http://127.0.0.1:${opsPort}`;
    const health = await waitFor(async () => {
      const res = await request(`${ops}/health`).catch(() => undefined);
      if (res === undefined) return undefined;
      await res.body.dump();
      return res.statusCode;
    });
    expect(health).toBe(200);
    const notReady = await request(`${ops}/ready`);
    expect(notReady.statusCode).toBe(503);
    expect(await notReady.body.json()).toEqual({ status: 'not_ready', reason: 'redis_unavailable' });
    await redis.restart();
    await started;
    const ready = await waitFor(async () => {
      const res = await request(`${ops}/ready`);
      await res.body.dump();
      return res.statusCode === 200;
    });
    expect(ready).toBe(true);
    await service.stop();
    await closeWorkerConnections(connections);
  });
});
