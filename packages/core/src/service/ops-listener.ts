import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../logger.ts';
import type { MetricsRegistry } from '../metrics/metrics-registry.ts';
import { listen } from './listen.ts';
import { readinessResponse, type HealthBody, type ReadinessCheck } from './readiness.ts';

/** Options of {@link OpsListener}. */
export interface OpsListenerOptions {
  /** Reported by `/health`, e.g. `telegram-receiver-gateway`. */
  service: string;
  /** Reported by `/health`: the service's package version. */
  version: string;
  /** Served at `/metrics` (OpenMetrics, with exemplars). */
  registry: MetricsRegistry;
  /** Behind `/ready`. */
  readiness: ReadinessCheck;
  /**
   * Further `GET` routes answering JSON, by exact path (the metrics service's `/queues`).
   * @defaultValue none
   */
  routes?: Readonly<Record<string, () => Promise<{ status: number; body: unknown }>>>;
  logger: Logger;
}

function send(res: ServerResponse, status: number, body: string, contentType = 'application/json'): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(body);
}

/**
 * The ops listener every service opens on `OPS_PORT`: `GET /health` (liveness, no I/O, so a slow
 * Redis never gets the pod restarted), `GET /ready` (503 with a {@link NotReadyReason} when not)
 * and `GET /metrics` (Prometheus). Plain node:http: three fixed routes need no framework, and it
 * keeps answering when everything else is failing.
 */
export class OpsListener {
  readonly server: Server;
  readonly #opts: OpsListenerOptions;
  readonly #health: string;

  constructor(opts: OpsListenerOptions) {
    this.#opts = opts;
    this.#health = JSON.stringify({
      status: 'healthy',
      service: opts.service,
      version: opts.version,
    } satisfies HealthBody);
    this.server = createServer({ requestTimeout: 10_000, headersTimeout: 5000 }, (req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        opts.logger.error({ err }, 'ops request failed');
        if (!res.headersSent) send(res, 500, JSON.stringify({ error: 'internal error' }));
        else res.destroy();
      });
    });
  }

  /** Listen and resolve with the bound port (0 = any free port). */
  async listen(port: number, host?: string): Promise<number> {
    return await listen(this.server, port, host);
  }

  /** Stop listening and cut open connections (scrapes and probes are short and retried). */
  async close(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>(resolve => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const routes = this.#opts.routes ?? {};
    const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      send(res, 405, JSON.stringify({ error: 'method not allowed' }));
      return;
    }
    if (path === '/health') {
      send(res, 200, this.#health);
    } else if (path === '/ready') {
      const { status, body } = readinessResponse(await this.#opts.readiness.check());
      send(res, status, JSON.stringify(body));
    } else if (path === '/metrics') {
      const { registry } = this.#opts;
      send(res, 200, await registry.metrics(), registry.contentType);
    } else if (route !== undefined) {
      const { status, body } = await route();
      send(res, status, JSON.stringify(body));
    } else {
      send(res, 404, JSON.stringify({ error: 'not found' }));
    }
  }
}
