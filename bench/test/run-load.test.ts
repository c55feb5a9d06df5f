import { afterEach, describe, expect, it } from 'vitest';
import { LoadGeneratorProcess } from '../lib/run-load.ts';
import { startTestServer, type TestServer } from './http-fixture.ts';

let server: TestServer | undefined;
let generator: LoadGeneratorProcess | undefined;
afterEach(async () => {
  await generator?.close();
  await server?.close();
  generator = undefined;
  server = undefined;
});

describe('LoadGeneratorProcess.run', () => {
  it('should run phases one after another in a separate process', async () => {
    const senders = new Set<number>();
    server = await startTestServer((_update, req, res) => {
      senders.add(req.socket.remotePort ?? 0);
      res.end('OK');
    });
    generator = LoadGeneratorProcess.start();
    expect(generator.pid).toBeDefined();
    expect(generator.pid).not.toBe(process.pid);
    const first = await generator.run({
      mode: 'open',
      rate: 100,
      durationMs: 200,
      origin: server.origin,
      firstUpdateId: 1,
    });
    const second = await generator.run({
      mode: 'saturate',
      concurrency: 2,
      durationMs: 200,
      origin: server.origin,
      firstUpdateId: 1000,
    });
    expect(first).toMatchObject({ mode: 'open', sent: 20, ok: 20 });
    expect(second.mode).toBe('saturate');
    expect(second.ok).toBeGreaterThan(0);
    expect(senders.size).toBeGreaterThan(0);
  });

  it('should reject with the reason when the options are bad, and keep working', async () => {
    generator = LoadGeneratorProcess.start();
    await expect(
      generator.run({
        mode: 'open',
        rate: 1,
        durationMs: 10,
        origin: 'http://example.com',
        firstUpdateId: 1,
      }),
    ).rejects.toThrow(/load generator failed: .*127\.0\.0\.1/);
    await expect(
      generator.run({
        mode: 'open',
        rate: -5,
        durationMs: 10,
        origin: 'http://127.0.0.1:1',
        firstUpdateId: 1,
      }),
    ).rejects.toThrow(/rate must be/);
  });

  it('should refuse to run after it was closed', async () => {
    const closed = LoadGeneratorProcess.start();
    await closed.close();
    await expect(
      closed.run({ mode: 'open', rate: 1, durationMs: 10, origin: 'http://127.0.0.1:1', firstUpdateId: 1 }),
    ).rejects.toThrow(/exited/);
  });
});
