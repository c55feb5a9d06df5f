// src/main.ts with invalid settings: it must exit 1 before listening, with one clear line per
// problem, and never echo a secret value.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const entry = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const TOKEN = '555555:config-test-token-dddddddddddddddddd';

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

describe('main.ts (invalid configuration)', () => {
  it('should exit 1 with one line per bad setting', async () => {
    const { code, output } = await runMain({
      PORT: 'abc',
      MAX_BACKLOG: '-1',
      RETRY_AFTER_SECONDS: '0',
      READY_CACHE_MS: '5000',
    });
    expect(code).toBe(1);
    const lines = output.trim().split('\n');
    expect(lines[0]).toContain('invalid configuration (4 problem(s))');
    expect(lines.filter(l => /^gateway: PORT: .*abc/.test(l))).toHaveLength(1);
    expect(lines.filter(l => l.startsWith('gateway: MAX_BACKLOG: '))).toHaveLength(1);
    expect(lines.filter(l => l.startsWith('gateway: RETRY_AFTER_SECONDS: '))).toHaveLength(1);
    expect(lines.filter(l => l.startsWith('gateway: READY_CACHE_MS: '))).toHaveLength(1);
    expect(output).not.toContain('listening');
  });

  it('should reject a webhook secret outside Telegram charset without printing it', async () => {
    const secret = 'bad secret with spaces!';
    const { code, output } = await runMain({ TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_WEBHOOK_SECRET: secret });
    expect(code).toBe(1);
    expect(output).toMatch(/gateway: TELEGRAM_WEBHOOK_SECRET: .*A-Z a-z 0-9 _ -/);
    expect(output).not.toContain(secret);
    expect(output).not.toContain(TOKEN);
  });

  it('should reject a bot token without a webhook secret without printing the token', async () => {
    const { code, output } = await runMain({ TELEGRAM_BOT_TOKEN: TOKEN });
    expect(code).toBe(1);
    expect(output).toMatch(/gateway: TELEGRAM_WEBHOOK_SECRET: required when TELEGRAM_BOT_TOKEN is set/);
    expect(output).not.toContain(TOKEN);
  });

  it('should report a malformed token and an unreadable bots file together', async () => {
    const { code, output } = await runMain({
      TELEGRAM_BOT_TOKEN: 'not-a-token-secret-xyz',
      TELEGRAM_WEBHOOK_SECRET: 'fine_secret',
      BOTS_FILE: '/nonexistent/bots.json',
    });
    expect(code).toBe(1);
    expect(output).toMatch(/gateway: TELEGRAM_BOT_TOKEN: must look like/);
    expect(output).toMatch(/gateway: BOTS_FILE: \/nonexistent\/bots.json cannot be read/);
    expect(output).not.toContain('not-a-token-secret-xyz');
    expect(output).not.toContain('fine_secret');
  });

  it('should refuse Redis Cluster without a hash-tagged prefix, or with Sentinel too, saying what to set', async () => {
    const { code, output } = await runMain({
      REDIS_CLUSTER_NODES: '127.0.0.1:7000,127.0.0.1:7001',
      REDIS_SENTINELS: '127.0.0.1:26379',
      QUEUE_PREFIX: 'tr',
    });
    expect(code).toBe(1);
    expect(output).toContain('invalid configuration (2 problem(s))');
    expect(output).toMatch(
      /gateway: QUEUE_PREFIX: on Redis Cluster the prefix needs a hash tag.*set QUEUE_PREFIX=\{tr\}/,
    );
    expect(output).toContain(
      'gateway: REDIS_CLUSTER_NODES: set REDIS_SENTINELS (Sentinel) or REDIS_CLUSTER_NODES (Cluster), not both',
    );
    expect(output).not.toContain('listening');
  });
});
