import { fileURLToPath } from 'node:url';
import { freePort, startServiceProcess, waitFor } from '@telegram-receiver/testing';
import { describe, expect, it } from 'vitest';
import { sandboxOptionsFromEnv } from '../src/main.ts';
import { TOKEN, call } from './helpers.ts';

const entry = fileURLToPath(new URL('../src/main.ts', import.meta.url));

describe('sandboxOptionsFromEnv', () => {
  it('should apply the documented defaults', () => {
    expect(sandboxOptionsFromEnv({})).toEqual({
      port: 3900,
      host: '127.0.0.1',
      defaultCallbackUrl: 'http://127.0.0.1:3000/cursor-runner/callback',
      cursorDelayMs: 0,
      elevenLabsConcurrency: 10,
    });
  });

  it('should report every bad setting at once without quoting a callback URL that may hold a secret', () => {
    let message = '';
    try {
      sandboxOptionsFromEnv({
        SANDBOX_PORT: '99999',
        SANDBOX_CURSOR_DELAY_MS: '-5',
        SANDBOX_CALLBACK_URL: 'ftp://x/?secret=zzz-top',
      });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('SANDBOX_PORT');
    expect(message).toContain('SANDBOX_CURSOR_DELAY_MS');
    expect(message).toContain('SANDBOX_CALLBACK_URL');
    expect(message).not.toContain('zzz-top');
  });
});

describe('main.ts', () => {
  it('should log listening, serve all three stand-ins, never log secrets, and stop on SIGTERM', async () => {
    const port = await freePort();
    const unreachable = await freePort();
    const service = await startServiceProcess({
      entry,
      readyLine: 'listening',
      env: {
        SANDBOX_PORT: String(port),
        WEBHOOK_SECRET: 'main-webhook-secret-42',
        ELEVENLABS_API_KEY: 'main-eleven-key-42',
        SANDBOX_CALLBACK_URL: `http://127.0.0.1:${unreachable}/cursor-runner/callback`,
        LOG_LEVEL: 'debug',
      },
    });
    try {
      const base = `http://127.0.0.1:${port}`;
      expect((await call(`${base}/sandbox/health`)).body.status).toBe('ok');
      expect((await call(`${base}/bot${TOKEN}/getMe`)).body.ok).toBe(true);
      expect(
        (
          await call(`${base}/v1/text-to-speech/v`, {
            json: { text: 'x' },
            headers: { 'xi-api-key': 'main-eleven-key-42' },
          })
        ).status,
      ).toBe(200);
      expect((await call(`${base}/cursor/iterate/async`, { json: { prompt: 'x' } })).status).toBe(200);
      await waitFor(() => service.lines.some(l => l.includes('callback failed')));
      const log = service.lines.join('\n');
      for (const secret of ['main-webhook-secret-42', 'main-eleven-key-42', TOKEN.split(':')[1]!]) {
        expect(log).not.toContain(secret);
      }
    } finally {
      expect(await service.stop('SIGTERM')).toBe(0);
    }
  });

  it('should exit 1 with one clear message per bad setting', async () => {
    const err = await startServiceProcess({
      entry,
      readyLine: 'listening',
      env: { SANDBOX_PORT: 'abc', SANDBOX_CURSOR_DELAY_MS: 'soon' },
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toContain('exited with 1');
    expect(err?.message).toContain('sandbox: SANDBOX_PORT: must be an integer from 0 to 65535');
    expect(err?.message).toContain('sandbox: SANDBOX_CURSOR_DELAY_MS: must be an integer');
  });
});
