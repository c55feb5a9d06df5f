/**
 * Process entry of the sandbox (make dev, k6, the chart's test hooks): reads env, starts, logs
 * `listening`, and closes on SIGTERM/SIGINT. The only file with side effects.
 */
import { ConfigError, createLogger, type ConfigIssue } from '@telegram-receiver/core';
import { startSandbox } from './sandbox.ts';
import type { SandboxOptions } from './types.ts';

/** Read the sandbox settings from `env`; throws a ConfigError naming every bad variable. */
export function sandboxOptionsFromEnv(env: Record<string, string | undefined>): SandboxOptions {
  const issues: ConfigIssue[] = [];
  const value = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const int = (name: string, def: number, min: number, max: number): number => {
    const raw = value(name);
    if (raw === undefined) return def;
    const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      issues.push({ name, message: `must be an integer from ${min} to ${max} (got "${raw.slice(0, 40)}")` });
      return def;
    }
    return n;
  };
  const port = int('SANDBOX_PORT', 3900, 0, 65_535);
  const cursorDelayMs = int('SANDBOX_CURSOR_DELAY_MS', 0, 0, 3_600_000);
  const elevenLabsConcurrency = int('SANDBOX_ELEVENLABS_CONCURRENCY', 10, 1, 10_000);
  const callbackUrl = value('SANDBOX_CALLBACK_URL') ?? 'http://127.0.0.1:3000/cursor-runner/callback';
  let parsed: URL | undefined;
  try {
    parsed = new URL(callbackUrl);
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    // The URL may carry ?secret=, so it is not quoted.
    issues.push({
      name: 'SANDBOX_CALLBACK_URL',
      message: 'must be an http(s) URL such as http://127.0.0.1:3000/cursor-runner/callback',
    });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  const webhookSecret = value('WEBHOOK_SECRET');
  const elevenLabsApiKey = value('ELEVENLABS_API_KEY');
  return {
    port,
    host: value('SANDBOX_HOST') ?? '127.0.0.1',
    defaultCallbackUrl: callbackUrl,
    cursorDelayMs,
    elevenLabsConcurrency,
    ...(webhookSecret === undefined ? {} : { webhookSecret }),
    ...(elevenLabsApiKey === undefined ? {} : { elevenLabsApiKey }),
  };
}

async function main(): Promise<void> {
  let options: SandboxOptions;
  try {
    options = sandboxOptionsFromEnv(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const issue of err.issues) console.error(`sandbox: ${issue.name}: ${issue.message}`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger({
    service: 'sandbox',
    level: process.env.LOG_LEVEL?.trim() || 'info',
    secrets: [options.webhookSecret, options.elevenLabsApiKey],
  });
  const sandbox = await startSandbox({ ...options, logger });
  logger.info({ url: sandbox.url }, `sandbox listening on ${sandbox.url}`);
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'sandbox stopping');
    sandbox.close().then(
      () => {
        logger.info('sandbox stopped');
        logger.flush();
        process.exitCode = 0;
      },
      (err: unknown) => {
        logger.error({ err }, 'sandbox close failed');
        process.exitCode = 1;
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    console.error('sandbox failed to start:', err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
