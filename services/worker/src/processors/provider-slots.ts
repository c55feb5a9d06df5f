import { randomUUID } from 'node:crypto';
import { inSpan, type RedisClient } from '@telegram-receiver/core';
import { LuaScript } from '../redis/lua-script.ts';
import type { ElevenLabsPort } from './ports.ts';

/** Options of {@link ProviderSlots}. */
export interface ProviderSlotsOptions {
  redis: RedisClient;
  /** Redis key of the slot set, e.g. `<prefix>:slots:elevenlabs`. */
  key: string;
  /** Calls in flight at once, across every replica (the provider plan's concurrency). */
  limit: number;
  /**
   * A slot is given back after this long even if its holder died without releasing it.
   * @defaultValue 300000
   */
  leaseMs?: number;
  /**
   * Longest wait for a free slot; then {@link SlotsBusyError} is thrown and the job is retried later.
   * @defaultValue 30000
   */
  maxWaitMs?: number;
}

/** No provider slot came free in time. Transient: the job is retried with backoff. */
export class SlotsBusyError extends Error {
  constructor(key: string, waitedMs: number) {
    super(`all provider slots (${key.split(':').at(-1)}) stayed busy for ${waitedMs} ms; try again shortly`);
    this.name = 'SlotsBusyError';
  }
}

// Drop expired leases, then take a slot if one is free. KEYS[1] set; ARGV: token, limit, lease ms.
const ACQUIRE_SCRIPT = new LuaScript(
  `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
  return 1
end
return 0
`,
  1,
);

/**
 * A cluster-wide counting semaphore in one Redis sorted set (member = holder, score = lease end),
 * so a provider's concurrency cap (ElevenLabs plans allow a handful of requests at once) holds
 * across every worker replica (design non-negotiable 4) instead of being multiplied by them.
 */
export class ProviderSlots {
  readonly #redis: RedisClient;
  readonly #key: string;
  readonly #limit: number;
  readonly #leaseMs: number;
  readonly #maxWaitMs: number;

  constructor(opts: ProviderSlotsOptions) {
    this.#redis = opts.redis;
    this.#key = opts.key;
    this.#limit = opts.limit;
    this.#leaseMs = opts.leaseMs ?? 300_000;
    this.#maxWaitMs = opts.maxWaitMs ?? 30_000;
  }

  /** Run `fn` holding a slot; waits (polling with jitter) for one to come free. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    const token = randomUUID();
    await inSpan(
      'slot wait',
      { 'telegram_receiver.slots': this.#key.split(':').at(-1) ?? '' },
      async span => {
        const started = Date.now();
        let pause = 25;
        for (;;) {
          const got = await ACQUIRE_SCRIPT.run(this.#redis, [this.#key], [token, this.#limit, this.#leaseMs]);
          const waited = Date.now() - started;
          span?.setAttribute('telegram_receiver.wait_ms', waited);
          if (got === 1) break;
          if (waited >= this.#maxWaitMs) throw new SlotsBusyError(this.#key, waited);
          await new Promise(resolve => setTimeout(resolve, pause + Math.floor(Math.random() * pause)));
          pause = Math.min(pause * 2, 500);
        }
      },
    );
    try {
      return await fn();
    } finally {
      // If Redis is away, the lease runs out by itself.
      await this.#redis.zrem(this.#key, token).catch(() => undefined);
    }
  }

  /** How many slots are held now (expired leases included until the next acquire). */
  async held(): Promise<number> {
    return await this.#redis.zcard(this.#key);
  }
}

/** ElevenLabs calls that each hold one of the cluster-wide slots. */
export function withSlots(elevenLabs: ElevenLabsPort, slots: ProviderSlots): ElevenLabsPort {
  return {
    transcribe: params => slots.run(() => elevenLabs.transcribe(params)),
    synthesize: params => slots.run(() => elevenLabs.synthesize(params)),
  };
}
