// src/main.ts as a real process: bad settings stop it with one line per problem; good ones serve the
// queues on the ops port, start before Redis is up, and stop cleanly on SIGTERM.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RedisServer, freePort, randomName, startServiceProcess, waitFor } from '@telegram-receiver/testing';
import { describe, expect, it } from 'vitest';

const entry = fileURLToPath(new URL('../src/main.ts', import.meta.url));

async function runMain(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const proc = spawn(process.execPath, [entry], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, REDIS_URL: 'redis://127.0.0.1:1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout.on('data', (c: Buffer) => (output += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const code = await new Promise<number | null>(resolve => proc.once('exit', c => resolve(c)));
  return { code, output };
}

describe('metrics main.ts', () => {
  it('should exit 1 with one line per bad setting, never quoting the Redis URL', async () => {
    const { code, output } = await runMain({
      REDIS_URL: 'http://user:s3cret-pw@redis:6379',
      OPS_PORT: '70000',
      METRICS_INTERVAL_MS: '0',
      METRICS_MAX_AGE_MS: 'soon',
      METRICS_API_ENABLED: 'maybe',
    });
    expect(code).toBe(1);
    const lines = output.trim().split('\n');
    expect(lines[0]).toBe('metrics: invalid configuration (5 problem(s)); not starting');
    for (const name of [
      'REDIS_URL',
      'OPS_PORT',
      'METRICS_INTERVAL_MS',
      'METRICS_MAX_AGE_MS',
      'METRICS_API_ENABLED',
    ]) {
      expect(lines.filter(l => l.startsWith(`metrics: ${name}: `))).toHaveLength(1);
    }
    expect(output).not.toContain('s3cret-pw');
  });

  it('should refuse the External Metrics API without a way to reach the Kubernetes API', async () => {
    const outside = await runMain({ METRICS_API_ENABLED: 'true' });
    expect(outside.code).toBe(1);
    expect(outside.output).toContain(
      'metrics: METRICS_API_ENABLED: the External Metrics API needs the Kubernetes API',
    );
    const badFile = await runMain({ METRICS_API_ENABLED: 'true', KUBECONFIG: '/nonexistent/kubeconfig' });
    expect(badFile.code).toBe(1);
    expect(badFile.output).toContain('metrics: KUBECONFIG: cannot read this file as a kubeconfig');
  });

  it('should listen before Redis is up, become ready once it is, and stop on SIGTERM', async () => {
    const redis = await RedisServer.start({ appendOnly: false });
    await redis.stop();
    const port = await freePort();
    const service = await startServiceProcess({
      entry,
      env: {
        REDIS_URL: redis.url,
        QUEUE_PREFIX: randomName('tr'),
        OPS_PORT: String(port),
        LOG_LEVEL: 'info',
      },
      readyLine: 'metrics listening',
    });
    try {
      const ops = `http://127.0.0.1:${port}`;
      expect(await (await fetch(`${ops}/ready`)).json()).toEqual({ status: 'not_ready', reason: 'starting' });
      expect((await fetch(`${ops}/queues`)).status).toBe(503);
      await redis.restart();
      await waitFor(async () => (await fetch(`${ops}/ready`)).status === 200, {
        message: 'ready once Redis answers',
      });
      expect(await (await fetch(`${ops}/queues`)).json()).toMatchObject({
        fresh: true,
        queues: { updates: { backlog: 0 }, callbacks: { backlog: 0 } },
      });
      expect(await (await fetch(`${ops}/metrics`)).text()).toContain(
        'telegram_receiver_queue_pending_lanes{queue="updates"} 0',
      );
      expect(await service.stop('SIGTERM')).toBe(0);
    } finally {
      await service.stop('SIGKILL');
      await redis.close();
    }
  });
});
