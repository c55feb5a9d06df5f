import { SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { addTraceSecrets } from '../../src/tracing/span-redactor.ts';
import { startTracing } from '../../src/tracing/start-tracing.ts';
import { stopTracing, tracingEnabled } from '../../src/tracing/tracing-state.ts';

const TOKEN = '123456789:AAH-redact-me-please-0123456789abcdef';
const SECRET = 'webhook-secret-value-42';
const exporter = new InMemorySpanExporter();

describe('SpanRedactor (every span, before export)', () => {
  beforeAll(() => {
    expect(startTracing({ WEBHOOK_SECRET: SECRET }, { exporter })).toBe(true);
  });
  afterAll(async () => {
    await stopTracing();
  });

  /** The last exported span (the SDK exports once the resource's async attributes are in). */
  const lastExported = async (name: string) =>
    await vi.waitFor(() => {
      const span = exporter.getFinishedSpans().findLast(s => s.name.startsWith(name));
      if (span === undefined) throw new Error(`${name} not exported yet`);
      return span;
    });

  it('should remove bot tokens and secrets from names, attributes, status and exception events', async () => {
    const span = trace.getTracer('t').startSpan(`GET /bot${TOKEN}/getMe`);
    span.setAttributes({
      'url.full': `https://api.telegram.org/bot${TOKEN}/sendMessage`,
      'http.target': `/cursor-runner/callback?secret=${SECRET}`,
      'telegram.update_id': 7,
    });
    span.recordException(new Error(`connect failed for https://api.telegram.org/file/bot${TOKEN}/voice.ogg`));
    span.setStatus({ code: SpanStatusCode.ERROR, message: `refused ${SECRET}` });
    span.end();
    const done = await lastExported('GET /bot');
    const all = JSON.stringify({
      name: done.name,
      attributes: done.attributes,
      events: done.events,
      status: done.status,
    });
    expect(all).not.toContain(TOKEN);
    expect(all).not.toContain(TOKEN.split(':')[1]);
    expect(all).not.toContain(SECRET);
    expect(done.name).toBe('GET /bot[REDACTED]/getMe');
    expect(done.attributes['url.full']).toBe('https://api.telegram.org/bot[REDACTED]/sendMessage');
    expect(done.attributes['telegram.update_id']).toBe(7);
    expect(done.events[0]!.attributes?.['exception.message']).toContain('/file/bot[REDACTED]/voice.ogg');
  });

  it('should hide secrets added later (the bots file, via runService) too', async () => {
    addTraceSecrets(['bots-file-secret-xyz']);
    const span = trace.getTracer('t').startSpan('op');
    span.setAttribute('note', 'saw bots-file-secret-xyz here');
    span.end();
    expect((await lastExported('op')).attributes.note).toBe('saw [REDACTED] here');
  });
});

describe('startTracing(env)', () => {
  it('should start nothing without an endpoint, or when OTEL_SDK_DISABLED=true', async () => {
    await stopTracing();
    expect(startTracing({})).toBe(false);
    expect(
      startTracing({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1' }),
    ).toBe(false);
    expect(tracingEnabled()).toBe(false);
  });

  it('should refuse an unsupported protocol with a clear error', async () => {
    expect(() =>
      startTracing({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'carrier-pigeon',
      }),
    ).toThrow(/http\/protobuf or http\/json/);
    await stopTracing();
  });
});
