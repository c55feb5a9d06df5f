import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';
import { SecretRedactor } from '../redact.ts';
import { tracingState } from './tracing-state.ts';

/**
 * The secret values spans must never carry. Bot tokens are caught by shape wherever they appear
 * (`/bot<token>/` in `url.full`, `http.target`, span names, error messages); the values of the
 * secret env vars are added by the tracing bootstrap, and those of the bots file by `runService`.
 */
/** Add secret values to hide from every span from now on. */
export function addTraceSecrets(secrets: Iterable<string | undefined>): void {
  const state = tracingState();
  for (const s of secrets) if (typeof s === 'string') state.known.add(s);
  state.redactor = new SecretRedactor(state.known);
}

/**
 * Scrub spans with the service's own redactor from now on (`runService` passes the logger's, which
 * knows every secret of the process, including those a bots-file reload adds later).
 */
export function useTraceRedactor(shared: SecretRedactor): void {
  tracingState().redactor = shared;
}

function redactAttributes(
  attributes: Record<string, unknown>,
  set: (key: string, value: string) => void,
): void {
  const { redactor } = tracingState();
  for (const [key, value] of Object.entries(attributes)) {
    if (typeof value === 'string') {
      const clean = redactor.redact(value);
      if (clean !== value) set(key, clean);
    }
  }
}

/**
 * A span processor that scrubs each span just before it ends, while it can still be changed: its
 * name, its string attributes (every instrumentation's, including `url.full` and `http.target`),
 * its status message and its events' attributes (`exception.message`, `exception.stacktrace`).
 * It runs before any exporter sees the span; the collector's redaction processor is a second guard.
 */
export class SpanRedactor implements SpanProcessor {
  onStart(): void {}

  onEnding(span: Span): void {
    const { redactor } = tracingState();
    const name = redactor.redact(span.name);
    if (name !== span.name) span.updateName(name);
    redactAttributes(span.attributes, (key, value) => span.setAttribute(key, value));
    if (span.status.message !== undefined) {
      const message = redactor.redact(span.status.message);
      if (message !== span.status.message) span.setStatus({ code: span.status.code, message });
    }
    for (const event of span.events) {
      const attributes = event.attributes as Record<string, unknown> | undefined;
      if (attributes !== undefined) redactAttributes(attributes, (key, value) => (attributes[key] = value));
    }
  }

  onEnd(_span: ReadableSpan): void {}

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {}
}
