import { afterEach, describe, expect, it } from 'vitest';
import { generateLoad, type LoadOptions } from '../lib/load.ts';
import { ok, startTestServer, type TestServer } from './http-fixture.ts';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('generateLoad', () => {
  it('should send at the asked rate with a distinct update_id per request', async () => {
    const seen = new Set<number>();
    server = await startTestServer((update, _req, res) => {
      seen.add(update.update_id);
      ok(res);
    });
    const before = Date.now();
    const result = await generateLoad({
      mode: 'open',
      rate: 200,
      durationMs: 500,
      origin: server.origin,
      firstUpdateId: 5000,
    });
    expect(result.sent).toBe(100);
    expect(result.ok).toBe(100);
    expect(result.errors).toEqual({});
    expect(seen.size).toBe(100);
    expect(Math.min(...seen)).toBe(5000);
    expect(Math.max(...seen)).toBe(5099);
    // Open loop: never faster than asked. (How close it gets depends on the CPU the machine leaves
    // it, which a unit test does not judge: `make bench` measures speed.)
    expect(result.achievedRate).toBeLessThan(230);
    expect(result.latency.count).toBe(100);
    expect(result.sendLag?.count).toBe(100);
    expect(result.startedAtEpochMs).toBeGreaterThanOrEqual(before - 5);
    expect(result.startedAtEpochMs).toBeLessThan(before + 1000);
  });

  it('should measure latency from the scheduled time while the server stalls (no coordinated omission)', async () => {
    let releaseAt: number | undefined;
    server = await startTestServer((_update, _req, res) => {
      // The server stalls for 300 ms after the first request; everything that arrives meanwhile waits.
      releaseAt ??= Date.now() + 300;
      const wait = releaseAt - Date.now();
      if (wait > 0) setTimeout(() => ok(res), wait);
      else ok(res);
    });
    const result = await generateLoad({
      mode: 'open',
      rate: 100,
      durationMs: 600,
      connections: 1,
      origin: server.origin,
      firstUpdateId: 1,
    });
    expect(result.ok).toBe(60);
    // A closed-loop client on one connection would see a single slow request; here every request
    // scheduled during the stall counts its wait, so the tail is the stall itself.
    expect(result.latency.max).toBeGreaterThanOrEqual(280);
    expect(result.latency.p95).toBeGreaterThanOrEqual(200);
    // The timeline puts the stall in the first 500 ms of send time, not the second.
    expect(result.timeline.map(b => b.ok)).toEqual([50, 10]);
    expect(result.timeline[0]!.maxMs).toBeGreaterThanOrEqual(280);
    expect(result.timeline[1]!.maxMs).toBeLessThan(result.timeline[0]!.maxMs);
  });

  it('should count errors by HTTP status and by transport failure', async () => {
    server = await startTestServer((update, req, res) => {
      if (update.update_id % 3 === 0) {
        res.writeHead(503, { 'retry-after': '5' });
        res.end();
      } else if (update.update_id % 3 === 1) {
        req.socket.destroy();
      } else {
        ok(res);
      }
    });
    const result = await generateLoad({
      mode: 'open',
      rate: 100,
      durationMs: 300,
      origin: server.origin,
      firstUpdateId: 0,
      recordFailures: true,
    });
    const failures = Object.values(result.errors).reduce((a, b) => a + b, 0);
    expect(result.sent).toBe(30);
    expect(result.ok).toBe(10);
    expect(result.ok + failures).toBe(result.sent);
    expect(result.errors['status:503']).toBe(10);
    const transport = Object.keys(result.errors).filter(k => !k.startsWith('status:'));
    expect(transport.length).toBeGreaterThan(0);
    expect(result.latency.count).toBe(10);
    const notOk = Array.from({ length: 30 }, (_, i) => i).filter(i => i % 3 !== 2);
    expect([...(result.failedIndices ?? [])].sort((a, b) => a - b)).toEqual(notOk);
  });

  it('should stop by itself when the server never answers', async () => {
    server = await startTestServer(() => undefined);
    const started = Date.now();
    const result = await generateLoad({
      mode: 'open',
      rate: 20,
      durationMs: 200,
      requestTimeoutMs: 300,
      origin: server.origin,
      firstUpdateId: 1,
      recordFailures: true,
    });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(result.ok).toBe(0);
    expect(result.sent).toBe(4);
    expect(Object.values(result.errors).reduce((a, b) => a + b, 0)).toBe(4);
    expect([...(result.failedIndices ?? [])].sort()).toEqual([0, 1, 2, 3]);
    expect(result.latency.count).toBe(0);
  });

  it('should keep exactly `concurrency` requests in flight in saturation mode', async () => {
    let inFlight = 0;
    let most = 0;
    server = await startTestServer((_update, _req, res) => {
      inFlight++;
      most = Math.max(most, inFlight);
      setTimeout(() => {
        inFlight--;
        ok(res);
      }, 10);
    });
    const result = await generateLoad({
      mode: 'saturate',
      concurrency: 4,
      durationMs: 300,
      origin: server.origin,
      firstUpdateId: 1,
    });
    expect(most).toBe(4);
    expect(result.rateAsked).toBeNull();
    expect(result.sendLag).toBeNull();
    expect(result.ok).toBe(result.sent);
    // Refilled as answers came back: more than two rounds of 4 (not a speed bound; at 10 ms an
    // answer, an idle machine does ~120, a busy one far fewer).
    expect(result.ok).toBeGreaterThan(8);
    expect(result.latency.p50).toBeGreaterThanOrEqual(9);
  });

  it('should refuse any target other than 127.0.0.1', async () => {
    const base = { mode: 'open', rate: 1, durationMs: 10, firstUpdateId: 1 } as const;
    for (const origin of [
      'http://localhost:1',
      'http://10.0.0.1:80',
      'https://127.0.0.1:1',
      'http://[::1]:1',
    ]) {
      await expect(generateLoad({ ...base, origin })).rejects.toThrow(/127\.0\.0\.1/);
    }
    await expect(generateLoad({ ...base, origin: 'not a url' })).rejects.toThrow(/127\.0\.0\.1/);
  });

  it('should reject malformed, missing and oversized options before sending anything', async () => {
    let hits = 0;
    server = await startTestServer((_update, _req, res) => {
      hits++;
      ok(res);
    });
    const origin = server.origin;
    const bad: LoadOptions[] = [
      { mode: 'open', rate: 0, durationMs: 100, origin, firstUpdateId: 1 },
      { mode: 'open', rate: Number.NaN, durationMs: 100, origin, firstUpdateId: 1 },
      { mode: 'open', rate: 1e9, durationMs: 100, origin, firstUpdateId: 1 },
      { mode: 'open', rate: 10, durationMs: -1, origin, firstUpdateId: 1 },
      { mode: 'open', rate: 10, durationMs: 3 * 60 * 60_000, origin, firstUpdateId: 1 },
      { mode: 'saturate', concurrency: 0, durationMs: 100, origin, firstUpdateId: 1 },
      { mode: 'saturate', concurrency: 1.5, durationMs: 100, origin, firstUpdateId: 1 },
      { mode: 'saturate', concurrency: 1 } as unknown as LoadOptions,
    ];
    for (const opts of bad) await expect(generateLoad(opts)).rejects.toThrow(/must be/);
    expect(hits).toBe(0);
  });
});
