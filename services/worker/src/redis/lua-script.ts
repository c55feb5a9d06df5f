import type { RedisClient } from '@telegram-receiver/core';
import { createHash } from 'node:crypto';

type Arg = string | number;

/**
 * A Lua script run by its SHA1 (EVALSHA), so Redis neither receives nor hashes its text on every
 * call; on NOSCRIPT (a restarted or flushed Redis, a failover) it is sent once with EVAL, which
 * also loads it again. Same result as `redis.eval(source, …)`, a fraction of the bytes.
 */
export class LuaScript {
  readonly source: string;
  readonly sha: string;
  readonly #numberOfKeys: number;

  constructor(source: string, numberOfKeys: number) {
    this.source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
    this.#numberOfKeys = numberOfKeys;
  }

  /** Run with `keys` (exactly `numberOfKeys` of them) and `args`; Redis errors are thrown. */
  async run(redis: RedisClient, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    if (keys.length !== this.#numberOfKeys) {
      throw new RangeError(`LuaScript expects ${this.#numberOfKeys} key(s), got ${keys.length}`);
    }
    try {
      return await redis.evalsha(this.sha, this.#numberOfKeys, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return await redis.eval(this.source, this.#numberOfKeys, ...keys, ...args);
    }
  }
}
