import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTracing } from '../../src/tracing/start-tracing.ts';
import { stopTracing } from '../../src/tracing/tracing-state.ts';
import { traceRequests, type TracedRequestContext } from '../../src/tracing/trace-requests.ts';

const exporter = new InMemorySpanExporter();
let server: Server;
let origin: string;

// A node:http server that runs the middleware the way Koa does: a context, then the "router" (next),
// which matches `/things/:id` and answers 500 for `/boom`.
beforeAll(async () => {
  expect(startTracing({}, { exporter })).toBe(true);
  const middleware = traceRequests({ tracesItself: req => req.url === '/self-traced' });
  server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const ctx: TracedRequestContext = { method: req.method ?? 'GET', path, status: 404, req };
    void middleware(ctx, async () => {
      if (path.startsWith('/things/')) {
        ctx._matchedRoute = '/things/:id';
        ctx.status = 200;
      } else if (path === '/boom') ctx.status = 500;
    }).then(() => res.writeHead(ctx.status).end());
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise(resolve => server.close(resolve));
  await stopTracing();
});

/** Status of a request made with node:http (undici's calls would be traced themselves). */
async function send(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<number> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest(`${origin}${path}`, { method, headers }, res => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
    req.end();
  });
}

const serverSpans = () => exporter.getFinishedSpans().filter(s => s.kind === SpanKind.SERVER);

const exported = async (name: string) =>
  await vi.waitFor(() => {
    const span = serverSpans().find(s => s.name === name);
    if (span === undefined) throw new Error(`${name} not exported yet`);
    return span;
  });

describe('traceRequests()', () => {
  it('should open a server span named by the route pattern that continues the caller’s traceparent', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const status = await send(
      '/things/42?secret=do-not-record',
      { traceparent: `00-${traceId}-b7ad6b7169203331-01` },
      'POST',
    );
    expect(status).toBe(200);
    const span = await exported('POST /things/:id');
    expect(span.kind).toBe(SpanKind.SERVER);
    expect(span.spanContext().traceId).toBe(traceId);
    expect(span.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(span.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/things/:id',
      'url.path': '/things/42',
      'http.response.status_code': 200,
    });
    expect(JSON.stringify(span.attributes)).not.toContain('do-not-record');
  });

  it('should mark a 5xx answer as an error, and give probes, scrapes and self-traced requests no span', async () => {
    for (const path of ['/health', '/ready', '/metrics', '/self-traced', '/boom']) await send(path);
    const boom = await exported('GET');
    expect(boom.attributes['url.path']).toBe('/boom');
    expect(boom.status.code).toBe(SpanStatusCode.ERROR);
    const paths = serverSpans().map(s => s.attributes['url.path']);
    for (const path of ['/health', '/ready', '/metrics', '/self-traced']) expect(paths).not.toContain(path);
  });
});
