import type { Readiness, ReadinessCheck, RedisClient } from '@telegram-receiver/core';

/** Options of {@link ReadinessProbe}. */
export interface ReadinessProbeOptions {
  redis: RedisClient;
  /** Key written by the probe, e.g. `<prefix>:ready:<hostname>`. */
  key: string;
  /** How long an answer is reused. @defaultValue 1000 */
  cacheMs?: number;
}

/**
 * "Can this replica make an update durable right now?" — answered by a real write to Redis (a
 * replica that can read but not write, e.g. a read-only replica after failover, is not ready).
 * Answers are cached for `cacheMs` and concurrent checks share one probe, so Kubernetes probes and
 * load balancers polling /ready cannot hammer Redis.
 */
export class ReadinessProbe implements ReadinessCheck {
  readonly #redis: RedisClient;
  readonly #key: string;
  readonly #cacheMs: number;
  #cached: { at: number; answer: Readiness } | undefined;
  #inFlight: Promise<Readiness> | undefined;
  #draining = false;

  constructor(opts: ReadinessProbeOptions) {
    this.#redis = opts.redis;
    this.#key = opts.key;
    this.#cacheMs = opts.cacheMs ?? 1000;
  }

  /** From now on answer not ready (shutdown has begun: the load balancer should stop sending). */
  drain(): void {
    this.#draining = true;
  }

  async check(): Promise<Readiness> {
    if (this.#draining) return { ready: false, reason: 'shutting_down' };
    const cached = this.#cached;
    if (cached !== undefined && performance.now() - cached.at < this.#cacheMs) return cached.answer;
    this.#inFlight ??= this.#probe().finally(() => (this.#inFlight = undefined));
    return await this.#inFlight;
  }

  async #probe(): Promise<Readiness> {
    let answer: Readiness;
    try {
      await this.#redis.set(this.#key, '1', 'PX', 5000);
      answer = { ready: true };
    } catch {
      answer = { ready: false, reason: 'redis_unavailable' };
    }
    this.#cached = { at: performance.now(), answer };
    return answer;
  }
}
