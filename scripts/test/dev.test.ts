// `make dev` as a user runs it: the real script, real processes, the printed curl run by bash.
// Ports are free ones (the defaults 3000/3900/9100/9101/9102 may be taken on a shared machine).
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitFor } from '@telegram-receiver/testing';

const run = promisify(execFile);

describe('make dev (scripts/dev.ts)', () => {
  const output: string[] = [];
  let proc: ChildProcess;
  let exited: Promise<unknown>;
  let gatewayUrl: string;
  let sandboxUrl: string;
  let metricsUrl: string;

  beforeAll(async () => {
    // Every port free, so other test files may run at the same time.
    const [gateway, gatewayOps, gatewayAdmin, workerOps, sandbox, metricsOps] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    metricsUrl = `http://127.0.0.1:${metricsOps}`;
    gatewayUrl = `http://127.0.0.1:${gateway}`;
    sandboxUrl = `http://127.0.0.1:${sandbox}`;
    proc = spawn(process.execPath, ['scripts/dev.ts'], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        LOG_LEVEL: 'warn',
        PORT: String(gateway),
        GATEWAY_OPS_PORT: String(gatewayOps),
        GATEWAY_ADMIN_PORT: String(gatewayAdmin),
        WORKER_OPS_PORT: String(workerOps),
        SANDBOX_PORT: String(sandbox),
        METRICS_OPS_PORT: String(metricsOps),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout?.on('data', (c: Buffer) => output.push(c.toString()));
    proc.stderr?.on('data', (c: Buffer) => output.push(c.toString()));
    exited = new Promise(resolve => proc.once('exit', resolve));
  });

  afterAll(async () => {
    if (proc.exitCode === null) proc.kill('SIGTERM');
    await exited;
  });

  it('should come up, and the printed curl should get OK and leave a job in Redis', async () => {
    const text = await waitFor(
      () => {
        const all = output.join('');
        if (proc.exitCode !== null) throw new Error(`make dev exited:\n${all}`);
        return all.includes('dev stack ready') && all;
      },
      {
        timeoutMs: 40_000,
        message: 'dev stack did not come up',
      },
    );
    const curl = text.split('\n').find(line => line.trim().startsWith('curl -sS -X POST'));
    expect(curl).toBeDefined();
    const { stdout } = await run('bash', ['-c', curl!.trim()]);
    expect(stdout).toBe('OK');
    const redisUrl = /redis\s+(redis:\/\/\S+)/.exec(text)?.[1];
    expect(redisUrl).toBeDefined();
    const connection = new Redis(redisUrl!, { maxRetriesPerRequest: null });
    const queue = new Queue('updates', { connection, prefix: 'tr' });
    const counts = await queue.getJobCounts();
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);
    await queue.close();
    connection.disconnect();
    // The worker forwards it to cursor-runner (the sandbox) and answers in the chat.
    const reply = await waitFor(
      async () => {
        const res = await fetch(
          `${sandboxUrl}/sandbox/calls?service=telegram&method=sendMessage&chat_id=4242`,
        );
        const { calls } = (await res.json()) as { calls: { body: { text?: string } }[] };
        return calls.find(c => c.body.text?.includes('Hello from make dev'));
      },
      { timeoutMs: 20_000, message: 'no reply in the chat' },
    );
    expect(reply.body.text).toContain('Echo: Hello from make dev');
    // The metrics service reads the same queues.
    const queues = await waitFor(async () => {
      const res = await fetch(`${metricsUrl}/queues`);
      return res.ok && ((await res.json()) as Record<string, unknown>);
    });
    expect(queues).toMatchObject({ fresh: true, queues: { updates: { paused: false } } });
  }, 60_000);

  it('should run make demo against it to the end', async () => {
    const { stdout } = await run(process.execPath, ['scripts/demo.ts'], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        GATEWAY_URL: gatewayUrl,
        SANDBOX_URL: sandboxUrl,
      },
      timeout: 45_000,
    });
    expect(stdout).toMatch(/Echo:/);
  }, 60_000);

  it('should stop every process on SIGTERM', async () => {
    proc.kill('SIGTERM');
    await exited;
    expect(proc.exitCode).toBe(0);
  });
});
