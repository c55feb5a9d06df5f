import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from '@telegram-receiver/core';

/** The answer of a readiness probe: `ok`, or the reasons it is not. */
export interface ReadinessReport {
  ok: boolean;
  checks: Record<string, 'ok' | string>;
}

/** Options of {@link createOpsServer}. */
export interface OpsServerOptions {
  /** Registry served at `/metrics`. */
  registry: Registry;
  /** Readiness probe behind `/ready`; it should bound its own time. */
  ready: () => Promise<ReadinessReport>;
  logger: Logger;
  /** Service name reported by `/health`. @defaultValue 'worker' */
  service?: string;
}

function send(res: ServerResponse, status: number, body: string, contentType = 'application/json'): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(body);
}

/**
 * The ops listener: `/health` (liveness, no I/O), `/ready` (Redis answers and the workers run),
 * `/metrics` (Prometheus). Plain node:http: three fixed routes need no framework, and it stays up
 * even when everything else is failing.
 */
export function createOpsServer(opts: OpsServerOptions): Server {
  const service = opts.service ?? 'worker';
  const startedAt = Date.now();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      send(res, 405, JSON.stringify({ error: 'method not allowed' }));
      return;
    }
    if (path === '/health' || path === '/healthz') {
      send(
        res,
        200,
        JSON.stringify({ status: 'healthy', service, uptime_s: Math.round((Date.now() - startedAt) / 1000) }),
      );
      return;
    }
    if (path === '/ready' || path === '/readyz') {
      const report = await opts.ready();
      send(
        res,
        report.ok ? 200 : 503,
        JSON.stringify({ status: report.ok ? 'ready' : 'not ready', ...report }),
      );
      return;
    }
    if (path === '/metrics') {
      send(res, 200, await opts.registry.metrics(), opts.registry.contentType);
      return;
    }
    send(res, 404, JSON.stringify({ error: 'not found' }));
  }

  return createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      opts.logger.error({ err }, 'ops request failed');
      if (!res.headersSent) send(res, 500, JSON.stringify({ error: 'internal error' }));
      else res.destroy();
    });
  });
}
