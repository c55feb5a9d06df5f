import { annotateActiveSpan } from '@telegram-receiver/core';
import type { Redis } from 'ioredis';

/** Options of {@link SendLedger}. */
export interface SendLedgerOptions {
  /** Connection for SET/GET/DEL. Owned by the caller. */
  redis: Redis;
  /** Key prefix (QUEUE_PREFIX): markers live at `<prefix>:ledger:<key>`. */
  prefix: string;
  /**
   * How long a marker is kept. It must outlive every retry of the job and Telegram's re-delivery
   * window, after which the update id is deduplicated anyway.
   * @defaultValue 86400 (24 h)
   */
  ttlSeconds?: number;
}

/** What {@link SendLedger.once} did. */
export type LedgerOutcome<T> =
  /** The step ran now and succeeded. */
  | { status: 'ran'; value: T }
  /** The step ran on an earlier attempt (`done`), or an earlier attempt's outcome is unknown (`pending`): not repeated. */
  | { status: 'skipped'; previous: 'done' | 'pending' }
  /** The step ran now and failed in a way that may still have had its effect (a timeout, a dropped connection): not repeated. */
  | { status: 'unknown'; error: unknown };

/** A record a step's answer will need, stored in the same round trip as the step's claim. */
export interface LedgerRecord {
  /** Full Redis key (not under the ledger's prefix). */
  key: string;
  value: string;
  ttlSeconds: number;
}

/** Options of {@link SendLedger.once}. */
export interface OnceOptions {
  /**
   * Stored with SET NX alongside the claim (one round trip for both), so it exists before the step
   * runs. When this attempt does not get the claim, a record it has just created is removed again:
   * the step already ran, and whoever consumed the record may have deleted it on purpose. When
   * storing it fails, the claim is given back and the error thrown, so a retry does both again.
   */
  record?: LedgerRecord;
}

/**
 * Whether a failed call may have reached the service and had its effect. The typed upstream errors
 * say so; anything else is assumed to have, because a lost reply is better than a duplicate one.
 */
export function mayHaveTakenEffect(err: unknown): boolean {
  if (typeof err === 'object' && err !== null && 'mayHaveTakenEffect' in err) {
    return (err as { mayHaveTakenEffect: unknown }).mayHaveTakenEffect !== false;
  }
  return true;
}

/**
 * At-most-once outbound steps (design non-negotiable 2). Before a call, a `pending` marker is set
 * with NX; after it, `done`. A job retry that meets either marker skips the step, so a chat never
 * sees a reply twice even when a worker dies mid-send. Only a failure that certainly had no effect
 * (`mayHaveTakenEffect === false`: refused connection, 429, 5xx with the service's own envelope)
 * removes the marker, so that a retry may try again; that error is re-thrown for the caller.
 */
export class SendLedger {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ttlSeconds: number;

  constructor(opts: SendLedgerOptions) {
    this.#redis = opts.redis;
    this.#prefix = opts.prefix;
    this.#ttlSeconds = opts.ttlSeconds ?? 86_400;
  }

  /** The Redis key of a step (exposed for tests and operators). */
  keyOf(key: string): string {
    return `${this.#prefix}:ledger:${key}`;
  }

  /**
   * Run `fn` unless the step `key` already ran or may have run. Keys: `<bot>:<update_id>:<step>` for
   * updates, `<requestId>:<step>` for callbacks. Throws the error of `fn` when it certainly had no
   * effect (so the job can retry), and Redis errors (the step was then not attempted, or is marked pending).
   * A step whose answer needs a record stored first passes it as `opts.record`.
   */
  async once<T>(key: string, fn: () => Promise<T>, opts: OnceOptions = {}): Promise<LedgerOutcome<T>> {
    const redisKey = this.keyOf(key);
    const { record } = opts;
    // Sent in the same turn: the connection's auto-pipelining writes both at once.
    const claiming = this.#redis.set(redisKey, 'pending', 'EX', this.#ttlSeconds, 'NX');
    const storing =
      record === undefined
        ? undefined
        : this.#redis.set(record.key, record.value, 'EX', record.ttlSeconds, 'NX');
    const [claim, stored] = await Promise.allSettled([claiming, storing]);
    if (claim.status === 'rejected') {
      if (stored.status === 'fulfilled' && stored.value !== null && record) await this.#redis.del(record.key);
      throw claim.reason;
    }
    if (claim.value === null) {
      if (stored.status === 'fulfilled' && stored.value !== null && record) await this.#redis.del(record.key);
      const previous = await this.#redis.get(redisKey);
      // The step (the part of the key after the update) says which send a retry did not repeat.
      annotateActiveSpan({ 'telegram_receiver.ledger.skipped': key.split(':').slice(2).join(':') || key });
      return { status: 'skipped', previous: previous === 'done' ? 'done' : 'pending' };
    }
    if (stored.status === 'rejected') {
      // Nothing was sent yet: give the step back so a retry does it all again.
      await this.#redis.del(redisKey);
      throw stored.reason;
    }
    let value: T;
    try {
      value = await fn();
    } catch (err) {
      if (mayHaveTakenEffect(err)) return { status: 'unknown', error: err };
      await this.#redis.del(redisKey);
      throw err;
    }
    await this.#redis.set(redisKey, 'done', 'EX', this.#ttlSeconds);
    return { status: 'ran', value };
  }

  /** The marker of a step: `done`, `pending` (running, or outcome unknown) or `undefined` (never ran). */
  async state(key: string): Promise<'done' | 'pending' | undefined> {
    const value = await this.#redis.get(this.keyOf(key));
    return value === 'done' || value === 'pending' ? value : undefined;
  }
}
