import type { IncomingMessage } from 'node:http';
import type { BlockList } from 'node:net';
import type { Logger, RedisClient } from '@telegram-receiver/core';
import { LRUCache } from 'lru-cache';
import { clientAddressOf } from './client-address.ts';
import { HttpRejection } from './errors/http-rejection.ts';

/** Which secret was wrong (the `route` label of `auth_failures_total`). */
export type SecretRoute = 'webhook' | 'callback' | 'admin';

/** Options of {@link FailedSecretThrottle}. */
export interface FailedSecretThrottleOptions {
  /** Any connection; one short script per failed attempt. */
  redis: Pick<RedisClient, 'eval'>;
  /** QUEUE_PREFIX: counters are `<prefix>:authfail:<address>`. */
  prefix: string;
  /** Failed secrets one address may present per window before it gets 429s. @defaultValue 10 */
  limit?: number;
  /** Length of the counting window. @defaultValue 60000 */
  windowMs?: number;
  /** Proxies whose `X-Forwarded-For` is believed (unset: the peer address counts). */
  trustedProxies?: BlockList | undefined;
  /** Told each failed attempt's outcome (the metric). */
  onFailure?: (route: SecretRoute, outcome: 'unauthorized' | 'throttled') => void;
  logger: Logger;
}

// Count one failure of an address in a fixed window that starts with its first failure.
// KEYS[1] the address's counter. ARGV[1] window ms. Returns { failures so far, ms left in the window }.
const COUNT_FAILURE_LUA = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return { n, left }`;

/**
 * Wrong webhook, callback and admin secrets, throttled per source address across every gateway
 * replica: past `limit` failures in a window, a wrong secret is answered `429` with `Retry-After`
 * instead of `401`.
 *
 * Why only wrong secrets: a request with a valid secret is never looked up here, so Telegram, or
 * anyone else behind the same address, is never slowed by a neighbour's brute force, and the hot
 * path costs nothing. Addresses known to be over the limit are remembered in-process until their
 * window ends, so a flood costs Redis one command per address and window, not one per request.
 * Redis unreachable → the plain `401` (the throttle never turns a refusal into a 5xx).
 */
export class FailedSecretThrottle {
  readonly #opts: FailedSecretThrottleOptions & { limit: number; windowMs: number };
  /** Addresses over the limit → epoch ms their window ends. Bounded: a flood of spoofed sources cannot grow it. */
  readonly #blocked = new LRUCache<string, number>({ max: 10_000 });

  constructor(opts: FailedSecretThrottleOptions) {
    this.#opts = { limit: 10, windowMs: 60_000, ...opts };
  }

  /**
   * The answer to a request that presented a wrong (or no) secret: `unauthorized` itself, or a
   * `429` once the request's address is over the limit. Never throws.
   */
  async refuse(
    req: IncomingMessage,
    route: SecretRoute,
    unauthorized: HttpRejection,
  ): Promise<HttpRejection> {
    const address = clientAddressOf(req, this.#opts.trustedProxies);
    const now = Date.now();
    let until = this.#blocked.get(address);
    if (until === undefined || until <= now) {
      until = await this.#count(address, now);
    }
    if (until === undefined) {
      this.#opts.onFailure?.(route, 'unauthorized');
      return unauthorized;
    }
    this.#opts.onFailure?.(route, 'throttled');
    return new HttpRejection({
      status: 429,
      body:
        typeof unauthorized.body === 'string'
          ? 'Too Many Requests'
          : { ...unauthorized.body, error: 'too many failed attempts, retry later' },
      headers: { 'Retry-After': String(Math.max(1, Math.ceil((until - now) / 1000))) },
      ...(unauthorized.reason === undefined ? {} : { reason: 'throttled' as const }),
      closeConnection: unauthorized.closeConnection,
    });
  }

  /** Count the failure; returns when the address's window ends if it is over the limit now. */
  async #count(address: string, now: number): Promise<number | undefined> {
    try {
      const [failures, leftMs] = (await this.#opts.redis.eval(
        COUNT_FAILURE_LUA,
        1,
        `${this.#opts.prefix}:authfail:${address}`,
        this.#opts.windowMs,
      )) as [number, number];
      if (failures <= this.#opts.limit) return undefined;
      const until = now + leftMs;
      this.#blocked.set(address, until, { ttl: leftMs });
      return until;
    } catch (err) {
      this.#opts.logger.debug({ err }, 'failed-secret throttle: Redis unavailable; answering 401');
      return undefined;
    }
  }
}
