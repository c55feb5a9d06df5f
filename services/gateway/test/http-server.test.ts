// HttpServer on its own: the timeouts and the per-socket request cap that keep slow or sticky
// clients from holding a replica, and the graceful close.
import { connect } from 'node:net';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpServer } from '../src/http-server.ts';

let server: HttpServer | undefined;

afterEach(async () => {
  await server?.close(1000);
  server = undefined;
});

describe('new HttpServer(handler, options)', () => {
  it('should answer 408 and close a connection that sends its headers too slowly', async () => {
    server = new HttpServer((_req, res) => res.end('OK'), { headersTimeoutMs: 300, requestTimeoutMs: 1000 });
    const port = await server.listen(0, '127.0.0.1');
    const started = performance.now();
    const answer = await new Promise<string>(resolve => {
      const socket = connect(port, '127.0.0.1', () => socket.write('POST / HTTP/1.1\r\nHost: x\r\n'));
      let data = '';
      socket.on('data', (c: Buffer) => (data += c.toString()));
      socket.on('close', () => resolve(data));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('should close a keep-alive connection after maxRequestsPerSocket requests', async () => {
    server = new HttpServer((_req, res) => res.end('OK'), { maxRequestsPerSocket: 3 });
    const port = await server.listen(0, '127.0.0.1');
    const agent = new Agent({ connections: 1 });
    const connectionHeaders: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await request(`http://127.0.0.1:${port}/`, { dispatcher: agent });
      connectionHeaders.push(res.headers.connection);
      await res.body.dump();
    }
    await agent.close();
    expect(connectionHeaders).toEqual(['keep-alive', 'keep-alive', 'close']);
  });

  it('should close a connection above maxConnections at once and serve the ones within', async () => {
    server = new HttpServer((_req, res) => res.end('OK'), { maxConnections: 2 });
    const port = await server.listen(0, '127.0.0.1');
    const open = () =>
      new Promise<ReturnType<typeof connect>>(resolve => {
        const socket = connect(port, '127.0.0.1', () => resolve(socket));
      });
    const kept = [await open(), await open()];
    const third = await open();
    await new Promise(resolve => third.once('close', resolve));
    const answer = await new Promise<string>(resolve => {
      kept[0]!.once('data', (c: Buffer) => resolve(c.toString()));
      kept[0]!.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    });
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    for (const socket of kept) socket.destroy();
  });

  it('should answer 431 to a request head over maxHeaderSize', async () => {
    server = new HttpServer((_req, res) => res.end('OK'), { maxHeaderSize: 1024 });
    const port = await server.listen(0, '127.0.0.1');
    const res = await request(`http://127.0.0.1:${port}/`, { headers: { 'x-big': 'b'.repeat(4096) } });
    await res.body.dump();
    expect(res.statusCode).toBe(431);
  });
});

describe('HttpServer.close(graceMs)', () => {
  it('should let a request in flight finish with Connection: close, then close', async () => {
    let release: (() => void) | undefined;
    server = new HttpServer((_req, res) => {
      release = () => res.end('late');
    });
    const port = await server.listen(0, '127.0.0.1');
    const pending = request(`http://127.0.0.1:${port}/`);
    await new Promise<void>(resolve => {
      const poll = () => (release ? resolve() : setImmediate(poll));
      poll();
    });
    const closing = server.close(5000);
    release?.();
    const res = await pending;
    expect(res.headers.connection).toBe('close');
    expect(await res.body.text()).toBe('late');
    await closing;
    expect(server.server.listening).toBe(false);
    server = undefined;
  });

  it('should cut a request that outlives the grace period', async () => {
    server = new HttpServer(() => undefined);
    const port = await server.listen(0, '127.0.0.1');
    const pending = request(`http://127.0.0.1:${port}/`).catch((err: unknown) => err);
    await new Promise<void>(resolve => {
      const poll = () => (server?.inFlight === 1 ? resolve() : setTimeout(poll, 5));
      poll();
    });
    const started = performance.now();
    await server.close(200);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(await pending).toBeInstanceOf(Error);
    server = undefined;
  });
});
