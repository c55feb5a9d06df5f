import { Counter } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { createMetricsRegistry } from '../../src/metrics/metrics-registry.ts';
import { OpsListener } from '../../src/service/ops-listener.ts';
import type { Readiness } from '../../src/service/readiness.ts';

let ops: OpsListener | undefined;
afterEach(async () => {
  await ops?.close();
  ops = undefined;
});

async function start(answer: () => Promise<Readiness>): Promise<string> {
  const registry = createMetricsRegistry();
  new Counter({ name: 'telegram_receiver_test_total', help: 'test', registers: [registry] }).inc();
  ops = new OpsListener({
    service: 'telegram-receiver-test',
    version: '1.2.3',
    registry,
    readiness: { check: answer },
    logger: createLogger({ service: 'test', level: 'silent' }),
  });
  return `http://127.0.0.1:${await ops.listen(0, '127.0.0.1')}`;
}

describe('OpsListener', () => {
  it('should answer /health, /ready and /metrics with the one shape every service shares', async () => {
    let answer: Readiness = { ready: true };
    const url = await start(async () => answer);
    expect(await (await fetch(`${url}/health`)).json()).toEqual({
      status: 'healthy',
      service: 'telegram-receiver-test',
      version: '1.2.3',
    });
    const ready = await fetch(`${url}/ready`);
    expect([ready.status, await ready.json()]).toEqual([200, { status: 'ready' }]);
    answer = { ready: false, reason: 'workers_not_running' };
    const notReady = await fetch(`${url}/ready?probe=1`);
    expect(notReady.headers.get('cache-control')).toBe('no-store');
    expect([notReady.status, await notReady.json()]).toEqual([
      503,
      { status: 'not_ready', reason: 'workers_not_running' },
    ]);
    const metrics = await fetch(`${url}/metrics`);
    expect(metrics.headers.get('content-type')).toMatch(/^application\/openmetrics-text/);
    expect(await metrics.text()).toContain('telegram_receiver_test_total 1');
  });

  it('should refuse other paths (404) and methods (405), and survive a failing readiness check', async () => {
    const url = await start(() => Promise.reject(new Error('boom')));
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    const post = await fetch(`${url}/health`, { method: 'POST', body: 'x'.repeat(100_000) });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    const broken = await fetch(`${url}/ready`);
    expect([broken.status, await broken.json()]).toEqual([500, { error: 'internal error' }]);
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });
});
