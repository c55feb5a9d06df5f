// A tiny real HTTP server for the client tests: records every request and answers with scripted
// replies, including the faults the clients must classify (hang, dropped connection, streams).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { pino, type Logger } from 'pino';
import type { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { createHttpAgent } from '@telegram-receiver/core';

export interface RecordedRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** What to do with one request. Replies are used in order; the last one repeats. */
export type Reply =
  | { status: number; json: unknown; headers?: Record<string, string> }
  | { status: number; text: string; headers?: Record<string, string> }
  | { status: number; bytes: Uint8Array; headers?: Record<string, string> }
  | { hang: true }
  | { drop: true }
  | ((req: RecordedRequest, res: ServerResponse) => void);

export class FakeUpstream {
  readonly requests: RecordedRequest[] = [];
  readonly #server: Server;
  #replies: Reply[] = [];
  #hanging: ServerResponse[] = [];

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<FakeUpstream> {
    const server = createServer();
    const upstream = new FakeUpstream(server);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      upstream.handle(req, res);
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    return upstream;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Script the next answers (replaces any left over). */
  reply(...replies: Reply[]): this {
    this.#replies = replies;
    return this;
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      this.requests.push(recorded);
      const reply = this.#replies.length > 1 ? this.#replies.shift() : this.#replies[0];
      if (reply === undefined) {
        res.writeHead(500).end('no reply scripted');
      } else if (typeof reply === 'function') {
        reply(recorded, res);
      } else if ('hang' in reply) {
        this.#hanging.push(res);
      } else if ('drop' in reply) {
        req.socket.destroy();
      } else if ('json' in reply) {
        res
          .writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers })
          .end(JSON.stringify(reply.json));
      } else if ('text' in reply) {
        res.writeHead(reply.status, { 'content-type': 'text/html', ...reply.headers }).end(reply.text);
      } else {
        res
          .writeHead(reply.status, { 'content-type': 'application/octet-stream', ...reply.headers })
          .end(reply.bytes);
      }
    });
  }

  async close(): Promise<void> {
    for (const res of this.#hanging) res.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>(resolve => this.#server.close(() => resolve()));
  }
}

/**
 * A debug-level logger whose lines are kept in memory, to assert what was (not) logged. Plain pino,
 * without the scrubbing of `createLogger`, so a leak by the client itself would show.
 */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, destination), lines };
}

/** Every textual view of an error a log or a user could see, for "no secret in it" checks. */
export function errorTexts(err: unknown): string {
  const e = err as Error & { cause?: unknown };
  const parts = [
    String(err),
    e.stack ?? '',
    JSON.stringify(err),
    inspect(err, { depth: 10 }),
    Object.entries(e)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(' '),
  ];
  if (e.cause !== undefined) parts.push(errorTexts(e.cause));
  return parts.join('\n');
}

/**
 * The set-up every client test file shares: one HTTP agent for the file and a fresh
 * {@link FakeUpstream} per test, closed after it. Read `env.agent` / `env.upstream` inside tests.
 */
export function useClientTestEnv(): { readonly agent: Agent; readonly upstream: FakeUpstream } {
  const env = {} as { agent: Agent; upstream: FakeUpstream };
  beforeAll(() => {
    env.agent = createHttpAgent({ connectTimeoutMs: 1_000 });
  });
  afterAll(async () => {
    await env.agent.close();
  });
  beforeEach(async () => {
    env.upstream = await FakeUpstream.start();
  });
  afterEach(async () => {
    await env.upstream.close();
  });
  return env;
}

/** The error `p` rejects with; fails the test when `p` resolves. */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}
