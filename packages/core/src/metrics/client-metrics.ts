import { Counter, type Registry, type RegistryContentType } from 'prom-client';
import { METRIC_PREFIX } from './metrics-registry.ts';

/**
 * Metrics recorded inside core (the outbound clients' retry policy, the settings store), where no
 * service registry is at hand: the counters live here and each service adds them to its registry
 * with {@link registerClientMetrics}.
 */
const throttled = new Counter({
  name: `${METRIC_PREFIX}upstream_throttled_total`,
  help: 'Answers 429 (rate limited) from an upstream that the client waited out and retried, by upstream.',
  labelNames: ['upstream'],
  registers: [],
});
const throttledSeconds = new Counter({
  name: `${METRIC_PREFIX}upstream_throttled_seconds_total`,
  help: 'Time spent waiting out 429s (retry_after / Retry-After or backoff) before retrying, by upstream.',
  labelNames: ['upstream'],
  registers: [],
});
const settingsCache = new Counter({
  name: `${METRIC_PREFIX}settings_cache_requests_total`,
  help: 'Runtime settings reads, by result: hit (served from the in-process cache) or miss (read from Redis).',
  labelNames: ['result'],
  registers: [],
});

/** Add core's metrics to a service's registry (once per registry). */
export function registerClientMetrics(registry: Registry<RegistryContentType>): void {
  for (const [name, metric] of [
    [`${METRIC_PREFIX}upstream_throttled_total`, throttled],
    [`${METRIC_PREFIX}upstream_throttled_seconds_total`, throttledSeconds],
    [`${METRIC_PREFIX}settings_cache_requests_total`, settingsCache],
  ] as const) {
    if (registry.getSingleMetric(name) === undefined) registry.registerMetric(metric as Counter);
  }
}

/** A 429 from `upstream`, waited out for `delayMs` before the retry. */
export function recordThrottle(upstream: string, delayMs: number): void {
  throttled.inc({ upstream });
  throttledSeconds.inc({ upstream }, delayMs / 1000);
}

/** A settings read served from the cache (`hit`) or from Redis (`miss`). */
export function recordSettingsRead(result: 'hit' | 'miss'): void {
  settingsCache.inc({ result });
}
