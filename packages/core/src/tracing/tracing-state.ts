import type { Tracer } from '@opentelemetry/api';
import { SecretRedactor } from '../redact.ts';

/** The tracer of this project's own spans (the instrumentations have theirs). */
export const TRACER = 'telegram-receiver';

/**
 * What the tracing bootstrap and the service share. In production they are separate bundles (the
 * bootstrap is loaded by `--import` before the service's own `dist/main.js`), so module-level
 * variables would be two copies: this one object lives on `globalThis` under a registered symbol.
 */
interface TracingState {
  /** Flushes and stops the running SDK; set while tracing runs. */
  stop: (() => Promise<void>) | undefined;
  /**
   * The tracer of this project's spans while tracing runs. Looked up once per start: the API's
   * lookup builds a key on every call, and this runs on every webhook request.
   */
  tracer: Tracer | undefined;
  /** Scrubs every span (replaced by the service's redactor once it knows all its secrets). */
  redactor: Pick<SecretRedactor, 'redact'>;
  /** Secret values the bootstrap added before the service had a redactor. */
  known: Set<string>;
}

const KEY = Symbol.for('@telegram-receiver/core/tracing');

/** The one tracing state of this process. */
export function tracingState(): TracingState {
  const holder = globalThis as typeof globalThis & { [KEY]?: TracingState };
  holder[KEY] ??= { stop: undefined, tracer: undefined, redactor: new SecretRedactor([]), known: new Set() };
  return holder[KEY];
}

/** Whether the tracing SDK runs (an endpoint is set and the SDK is not disabled). */
export function tracingEnabled(): boolean {
  return tracingState().stop !== undefined;
}

/** Export what is buffered and stop (on shutdown; a no-op when tracing is off). */
export async function stopTracing(): Promise<void> {
  const state = tracingState();
  const stop = state.stop;
  state.stop = undefined;
  state.tracer = undefined;
  await stop?.();
}

/** The tracer of this project's spans while tracing runs, else undefined. */
export function projectTracer(): Tracer | undefined {
  return tracingState().tracer;
}
