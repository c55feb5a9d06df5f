import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '@telegram-receiver/core';
import { createSandboxApp } from './app.ts';
import { validateFaultRule, validateFileRegistration } from './control/validate.ts';
import { SandboxState } from './sandbox-state.ts';
import type { Sandbox, SandboxOptions } from './types.ts';

function checkInt(value: number | undefined, name: string, min: number, max: number): void {
  if (value !== undefined && (!Number.isInteger(value) || value < min || value > max)) {
    throw new RangeError(`startSandbox: ${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
}

/**
 * Start the sandbox: one HTTP server answering as the Telegram Bot API, cursor-runner and
 * ElevenLabs, recording every call and injecting the faults it is told to.
 */
export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  checkInt(opts.port, 'port', 0, 65_535);
  checkInt(opts.cursorDelayMs, 'cursorDelayMs', 0, 3_600_000);
  checkInt(opts.elevenLabsConcurrency, 'elevenLabsConcurrency', 1, 10_000);
  checkInt(opts.maxRecordedCalls, 'maxRecordedCalls', 1, 10_000_000);
  if (opts.defaultCallbackUrl !== undefined && !URL.canParse(opts.defaultCallbackUrl)) {
    throw new RangeError(
      'startSandbox: defaultCallbackUrl must be an absolute URL such as http://127.0.0.1:3000/cursor-runner/callback',
    );
  }
  const state = new SandboxState({
    webhookSecret: opts.webhookSecret || undefined,
    defaultCallbackUrl: opts.defaultCallbackUrl,
    cursorDelayMs: opts.cursorDelayMs ?? 0,
    elevenLabsApiKey: opts.elevenLabsApiKey || undefined,
    elevenLabsConcurrency: opts.elevenLabsConcurrency ?? 10,
    maxRecordedCalls: opts.maxRecordedCalls ?? 100_000,
    logger:
      opts.logger ??
      createLogger({ service: 'sandbox', level: 'silent', destination: { write: () => undefined } }),
  });
  const app = createSandboxApp(state, () => state.reset());
  const server = createServer(app.callback());
  const host = opts.host ?? '127.0.0.1';
  server.listen(opts.port ?? 0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const shownHost =
    host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;

  return {
    url: `http://${shownHost}:${port}`,
    calls: filter => state.calls(filter),
    reset: () => state.reset(),
    setFault: rule => state.addFault(validateFaultRule(rule)),
    clearFaults: () => state.clearFaults(),
    registerFile: file => {
      state.registerFile(validateFileRegistration(file));
    },
    close: async () => {
      closing ??= (async () => {
        const closed = new Promise<void>(resolve => server.close(() => resolve()));
        server.closeIdleConnections();
        // Held requests (timeout faults, delays) end now instead of holding the close.
        await state.close();
        server.closeAllConnections();
        await closed;
      })();
      await closing;
    },
  };
}
