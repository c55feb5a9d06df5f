import { annotateActiveSpan, type RedisClient } from '@telegram-receiver/core';
import { LuaScript } from '../redis/lua-script.ts';

/** Options of {@link SendLedger}. */
export interface SendLedgerOptions {
  /** Connection for SET/GET/DEL. Owned by the caller. */
  redis: RedisClient;
  /** Key prefix (QUEUE_PREFIX): markers live at `<prefix>:ledger:<key>`. */
  prefix: string;
  /**
   * How long a marker is kept. It must outlive every retry of the job and Telegram's re-delivery
   * window, after which the update id is deduplicated anyway.
   * @defaultValue 86400 (24 h)
   */
  ttlSeconds?: number;
  /**
   * How long a claim says "in flight" without being renewed (renewed every half of it while the step
   * runs). A re-run of the job that meets a live claim waits instead of skipping the step, so the
   * chat's next item cannot overtake a send still on its way; a dead holder's claim lapses after it.
   * @defaultValue 5000
   */
  leaseMs?: number;
}

/**
 * A re-run of a job met a step another run is still performing (its claim's lease is live: a worker
 * that lost its job's lock, e.g. to a long event-loop stall, but is still sending). Skipping the step
 * would let the job finish and its chat's next item overtake that send, so the job waits
 * `retryInMs` (moved to `delayed`, not an attempt) and looks again.
 */
export class StepInFlightError extends Error {
  readonly retryInMs: number;
  constructor(key: string, retryInMs: number) {
    super(`step ${key} is being performed by another run; waiting for it`);
    this.name = 'StepInFlightError';
    this.retryInMs = retryInMs;
  }
}

/** `pending:<lease end, epoch ms>` while a run performs the step; plain `pending` once its outcome is unknown. */
const IN_FLIGHT = /^pending:(\d+)$/;

/** The marker of a step given up before it ran ({@link SendLedger.forgo}): a later claim skips it. */
const FORGONE = 'forgone';

/** How soon a {@link SendLedger.forgo} that met a live run looks again. */
const FORGO_POLL_MS = 500;

/** Delete the marker only while it still says `forgone` (a claim made meanwhile stays). */
const REOPEN = new LuaScript(
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`,
  1,
);

/** What {@link SendLedger.once} did. */
export type LedgerOutcome<T> =
  /** The step ran now and succeeded. */
  | { status: 'ran'; value: T }
  /**
   * The step ran on an earlier attempt (`done`), or an earlier attempt's outcome is unknown
   * (`pending`), or it was given up before it ran (`forgone`): not repeated.
   */
  | { status: 'skipped'; previous: 'done' | 'pending' | 'forgone' }
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
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly #ttlSeconds: number;
  readonly #leaseMs: number;

  constructor(opts: SendLedgerOptions) {
    this.#redis = opts.redis;
    this.#prefix = opts.prefix;
    this.#ttlSeconds = opts.ttlSeconds ?? 86_400;
    this.#leaseMs = opts.leaseMs ?? 5000;
  }

  #inFlight(): string {
    return `pending:${Date.now() + this.#leaseMs}`;
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
    const claiming = this.#redis.set(redisKey, this.#inFlight(), 'EX', this.#ttlSeconds, 'NX');
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
      const lease = IN_FLIGHT.exec(previous ?? '');
      const left = lease ? Number(lease[1]) - Date.now() : 0;
      if (left > 0) throw new StepInFlightError(key, Math.min(left, this.#leaseMs) + 50);
      // The step (the part of the key after the update) says which send a retry did not repeat.
      annotateActiveSpan({ 'telegram_receiver.ledger.skipped': key.split(':').slice(2).join(':') || key });
      return {
        status: 'skipped',
        previous: previous === 'done' || previous === FORGONE ? previous : 'pending',
      };
    }
    if (stored.status === 'rejected') {
      // Nothing was sent yet: give the step back so a retry does it all again.
      await this.#redis.del(redisKey);
      throw stored.reason;
    }
    let value: T;
    // Keep the claim's lease live while the step runs (only long steps ever renew).
    const renew = setInterval(() => {
      this.#redis.set(redisKey, this.#inFlight(), 'KEEPTTL', 'XX').catch(() => undefined);
    }, this.#leaseMs / 2);
    try {
      value = await fn();
    } catch (err) {
      clearInterval(renew);
      if (mayHaveTakenEffect(err)) {
        // Not in flight any more: a re-run skips it at once (outcome unknown, at most once).
        await this.#redis.set(redisKey, 'pending', 'EX', this.#ttlSeconds);
        return { status: 'unknown', error: err };
      }
      await this.#redis.del(redisKey);
      throw err;
    } finally {
      clearInterval(renew);
    }
    await this.#redis.set(redisKey, 'done', 'EX', this.#ttlSeconds);
    return { status: 'ran', value };
  }

  /**
   * The marker of a step: `done`, `pending` (outcome unknown, or its run died), `in-flight` (a live run
   * is performing it now), `forgone` (given up before it ran) or `undefined` (never ran).
   */
  async state(key: string): Promise<'done' | 'pending' | 'in-flight' | 'forgone' | undefined> {
    const value = await this.#redis.get(this.keyOf(key));
    if (value === 'done' || value === 'pending' || value === FORGONE) return value;
    const lease = IN_FLIGHT.exec(value ?? '');
    if (lease === null) return undefined;
    return Number(lease[1]) > Date.now() ? 'in-flight' : 'pending';
  }

  /** Throw {@link StepInFlightError} if a live run is performing the step now. */
  async assertNotInFlight(key: string): Promise<void> {
    if ((await this.state(key)) === 'in-flight') throw new StepInFlightError(key, this.#leaseMs + 50);
  }

  /**
   * Give a step up before it runs: a later {@link once} of it skips it. Returns `forgone` when it
   * had not run, else what it did meanwhile (`done`, `pending`, or `forgone` by an earlier call).
   * Throws {@link StepInFlightError} while a live run performs it, so the caller can wait for the
   * step to finish (whatever depends on coming after it, e.g. an answer after its notice).
   */
  async forgo(key: string): Promise<'forgone' | 'done' | 'pending'> {
    for (;;) {
      const set = await this.#redis.set(this.keyOf(key), FORGONE, 'EX', this.#ttlSeconds, 'NX');
      if (set !== null) return FORGONE;
      const value = await this.#redis.get(this.keyOf(key));
      const lease = IN_FLIGHT.exec(value ?? '');
      const left = lease ? Number(lease[1]) - Date.now() : 0;
      // The lease outlasts a short send by seconds: look again soon rather than at its end.
      if (left > 0) throw new StepInFlightError(key, Math.min(left, FORGO_POLL_MS) + 50);
      if (value === 'done' || value === FORGONE) return value;
      // Null: the marker expired between the two commands; set ours again.
      if (value !== null) return 'pending';
    }
  }

  /**
   * Undo {@link forgo}: the step may run again. A step that ran or was claimed meanwhile keeps its
   * marker. Returns whether the step was reopened.
   */
  async reopen(key: string): Promise<boolean> {
    return (await REOPEN.run(this.#redis, [this.keyOf(key)], [FORGONE])) === 1;
  }
}
