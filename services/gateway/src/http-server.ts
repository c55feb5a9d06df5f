import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import { listen } from '@telegram-receiver/core';
import { deferContinue } from './expect-continue.ts';

/** Options of {@link HttpServer}. */
export interface HttpServerOptions {
  /** Idle keep-alive timeout; keep it above the load balancer's idle timeout. @defaultValue 65000 */
  keepAliveTimeoutMs?: number;
  /** Time allowed for the request headers (slowloris guard); clamped to `requestTimeoutMs`. @defaultValue 10000 */
  headersTimeoutMs?: number;
  /** Time allowed for the whole request. @defaultValue 30000 */
  requestTimeoutMs?: number;
  /**
   * Requests served on one connection before it is closed, so Telegram's long-lived connections
   * spread over replicas again (0 = no cap).
   * @defaultValue 1000
   */
  maxRequestsPerSocket?: number;
  /** Largest request head in bytes (431 above). @defaultValue 16384 */
  maxHeaderSize?: number;
  /**
   * Open connections at most; Node drops (closes at once) a connection above it. Bounds the
   * requests in flight, so the bodies held and the update batches waiting on Redis (Telegram
   * opens at most `max_connections`, ≤ 100, per bot). @defaultValue 1024
   */
  maxConnections?: number;
}

/**
 * node:http under a Koa callback, with the timeouts set and a graceful {@link close}: stop
 * accepting, answer requests in flight with `Connection: close`, close idle keep-alive sockets,
 * wait for the in-flight requests (bounded), then cut whatever is left.
 */
export class HttpServer {
  readonly server: Server;
  readonly #inFlight = new Set<ServerResponse>();
  #draining = false;
  #drained: (() => void) | undefined;

  constructor(handler: RequestListener, opts: HttpServerOptions = {}) {
    const requestTimeout = opts.requestTimeoutMs ?? 30_000;
    const headersTimeout = Math.min(opts.headersTimeoutMs ?? 10_000, requestTimeout);
    this.server = createServer(
      {
        maxHeaderSize: opts.maxHeaderSize ?? 16_384,
        requestTimeout,
        headersTimeout,
        keepAliveTimeout: opts.keepAliveTimeoutMs ?? 65_000,
        // How often header/request timeouts are enforced; Node's default (30 s) is too coarse.
        connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(headersTimeout / 2))),
      },
      (req: IncomingMessage, res: ServerResponse) => {
        this.#track(res);
        handler(req, res);
      },
    );
    // `Expect: 100-continue` is answered by the route when it starts reading the body, so a body
    // it refuses (401, 413, 415) is never sent (see expect-continue.ts).
    this.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      this.#track(res);
      deferContinue(req, res);
      handler(req, res);
    });
    this.server.keepAliveTimeout = opts.keepAliveTimeoutMs ?? 65_000;
    this.server.maxRequestsPerSocket = opts.maxRequestsPerSocket ?? 1000;
    this.server.maxConnections = opts.maxConnections ?? 1024;
  }

  /** Requests being answered right now. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Listen and resolve with the bound port (port 0 = any free port). */
  async listen(port: number, host?: string): Promise<number> {
    return await listen(this.server, port, host);
  }

  /**
   * Stop accepting and wait up to `graceMs` for requests in flight; then close every connection.
   * Resolves when the server is fully closed.
   */
  async close(graceMs: number): Promise<void> {
    if (!this.server.listening) return;
    this.#draining = true;
    const closed = new Promise<void>(resolve => this.server.close(() => resolve()));
    for (const res of this.#inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
    this.server.closeIdleConnections();
    if (this.#inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>(resolve => (this.#drained = resolve)),
        new Promise<void>(resolve => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
    }
    // Whatever is still open now is idle or past the grace period: nothing worth waiting for.
    this.server.closeAllConnections();
    await closed;
  }

  #track(res: ServerResponse): void {
    this.#inFlight.add(res);
    res.once('close', () => this.#done(res));
    if (this.#draining) res.setHeader('Connection', 'close');
  }

  #done(res: ServerResponse): void {
    this.#inFlight.delete(res);
    if (this.#draining && this.#inFlight.size === 0) this.#drained?.();
  }
}
