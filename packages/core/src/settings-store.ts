import type { RedisClient } from './redis-connection.ts';
import { z } from 'zod';
import type { Logger } from './logger.ts';
import { recordSettingsRead } from './metrics/client-metrics.ts';

/** Runtime switches an operator flips through the admin API; every replica sees a change at once. */
export interface Settings {
  /** Extra progress replies and execution details in results. */
  debug: boolean;
  /** Answer an audio prompt with a voice message (text-to-speech). */
  allow_audio_output: boolean;
}

// The seed forced debug ON at boot (seed-contract §1.15 gap 5); we start quiet.
export const DEFAULT_SETTINGS: Readonly<Settings> = Object.freeze({
  debug: false,
  allow_audio_output: false,
});

/** A partial update: only known keys, only booleans. */
export const settingsPatchSchema = z.strictObject({
  debug: z.boolean().optional(),
  allow_audio_output: z.boolean().optional(),
});

export type SettingsPatch = z.infer<typeof settingsPatchSchema>;

const SETTING_NAMES = Object.keys(DEFAULT_SETTINGS) as (keyof Settings)[];

/** Thrown by {@link SettingsStore.update} for a patch with an unknown key or a non-boolean value. */
export class InvalidSettingsError extends Error {
  readonly issues: string[];

  constructor(issues: string[]) {
    super(
      `invalid settings patch: ${issues.join('; ')} (allowed: ${SETTING_NAMES.join(', ')}, booleans only)`,
    );
    this.name = 'InvalidSettingsError';
    this.issues = issues;
  }
}

/** Options of {@link SettingsStore}. */
export interface SettingsStoreOptions {
  /** Connection for HGETALL/HSET/PUBLISH. Owned by the caller. */
  redis: RedisClient;
  /** A dedicated connection for SUBSCRIBE (a subscribed connection can run nothing else). Owned by the caller. */
  subscriber: RedisClient;
  /** Key prefix (QUEUE_PREFIX): the hash is `<prefix>:settings`, the channel `<prefix>:settings:changed`. */
  prefix: string;
  /** How long a read is reused without asking Redis; bounds staleness if a change message is missed. @defaultValue 5000 */
  cacheTtlMs?: number;
  /** Give up on a Redis read after this long and serve the last known settings. @defaultValue 1000 */
  readTimeoutMs?: number;
  logger?: Logger;
}

interface CacheEntry {
  value: Settings;
  expiresAt: number;
}

function parseHash(hash: Record<string, string>): Settings {
  const settings: Settings = { ...DEFAULT_SETTINGS };
  for (const name of SETTING_NAMES) {
    const raw = hash[name];
    if (raw !== undefined) settings[name] = raw === 'true' || raw === '1';
  }
  return settings;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`redis read timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Settings in a Redis hash, cached in-process. A change is published on a channel, and every
 * replica drops its cache on that message, so the next read sees the change. Reads never throw:
 * while Redis is unreachable the last known settings (or the defaults) are served, because a
 * settings lookup must never fail a user's update.
 */
export class SettingsStore {
  readonly #redis: RedisClient;
  readonly #subscriber: RedisClient;
  readonly #key: string;
  readonly #channel: string;
  readonly #cacheTtlMs: number;
  readonly #readTimeoutMs: number;
  readonly #logger: Logger | undefined;
  readonly #invalidationListeners = new Set<() => void>();
  #cache: CacheEntry | undefined;
  #lastKnown: Settings | undefined;
  #inFlight: Promise<Settings> | undefined;
  // Bumped on every invalidation, so a read that started before a change does not refill the cache.
  #generation = 0;
  #started = false;

  constructor(opts: SettingsStoreOptions) {
    this.#redis = opts.redis;
    this.#subscriber = opts.subscriber;
    this.#key = `${opts.prefix}:settings`;
    this.#channel = `${opts.prefix}:settings:changed`;
    this.#cacheTtlMs = opts.cacheTtlMs ?? 5000;
    this.#readTimeoutMs = opts.readTimeoutMs ?? 1000;
    this.#logger = opts.logger;
  }

  readonly #onMessage = (channel: string): void => {
    if (channel === this.#channel) this.#invalidate();
  };

  // Messages published while the subscriber was disconnected are lost: forget the cache on reconnect.
  readonly #onReady = (): void => {
    if (this.#started) this.#invalidate();
  };

  /** Subscribe to change messages. Call once before serving. */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#subscriber.on('message', this.#onMessage);
    this.#subscriber.on('ready', this.#onReady);
    await this.#subscriber.subscribe(this.#channel);
    this.#started = true;
  }

  /** The current settings. Never throws. */
  async get(): Promise<Settings> {
    const cached = this.#cache;
    if (cached && cached.expiresAt > Date.now()) {
      recordSettingsRead('hit');
      return { ...cached.value };
    }
    recordSettingsRead('miss');
    this.#inFlight ??= this.#load();
    return { ...(await this.#inFlight) };
  }

  /**
   * Validate and store a patch, then tell every replica. Returns the settings after the change.
   * Throws {@link InvalidSettingsError} for a bad patch, and the Redis error if it cannot be stored.
   */
  async update(patch: unknown): Promise<Settings> {
    const parsed = settingsPatchSchema.safeParse(patch);
    if (!parsed.success) {
      throw new InvalidSettingsError(
        parsed.error.issues.map(i => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message)),
      );
    }
    const fields: string[] = [];
    for (const name of SETTING_NAMES) {
      const value = parsed.data[name];
      if (value !== undefined) fields.push(name, String(value));
    }
    const multi = this.#redis.multi();
    if (fields.length > 0) multi.hset(this.#key, ...fields);
    multi.hgetall(this.#key);
    const replies = await multi.exec();
    const last = replies?.at(-1);
    if (!last || last[0]) throw last?.[0] ?? new Error('settings transaction was aborted');
    const settings = parseHash(last[1] as Record<string, string>);
    if (fields.length > 0) {
      this.#invalidate();
      await this.#redis.publish(this.#channel, '1');
      this.#logger?.info({ settings }, 'settings changed');
    }
    this.#remember(settings, this.#generation);
    return { ...settings };
  }

  /**
   * Register a listener called whenever the cache is dropped (a change message arrived). Returns
   * a function that removes it. Useful to wait on a change in tests and to refresh dependents.
   */
  onInvalidated(listener: () => void): () => void {
    this.#invalidationListeners.add(listener);
    return () => this.#invalidationListeners.delete(listener);
  }

  /** Unsubscribe. The connections stay open: they belong to the caller. */
  async close(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    this.#subscriber.off('message', this.#onMessage);
    this.#subscriber.off('ready', this.#onReady);
    this.#invalidationListeners.clear();
    try {
      if (this.#subscriber.status === 'ready') await this.#subscriber.unsubscribe(this.#channel);
    } catch (err) {
      this.#logger?.debug({ err }, 'settings unsubscribe failed');
    }
  }

  async #load(): Promise<Settings> {
    const generation = this.#generation;
    try {
      const hash = await withTimeout(this.#redis.hgetall(this.#key), this.#readTimeoutMs);
      const settings = parseHash(hash);
      this.#remember(settings, generation);
      return settings;
    } catch (err) {
      const fallback = this.#lastKnown ?? { ...DEFAULT_SETTINGS };
      this.#logger?.warn(
        { err, using: this.#lastKnown ? 'last known' : 'defaults' },
        'settings unavailable from redis',
      );
      // Serve the fallback for a short while instead of waiting on a dead Redis at every read.
      if (generation === this.#generation) {
        this.#cache = { value: fallback, expiresAt: Date.now() + Math.min(this.#cacheTtlMs, 1000) };
      }
      return fallback;
    } finally {
      if (generation === this.#generation) this.#inFlight = undefined;
    }
  }

  #remember(settings: Settings, generation: number): void {
    if (generation !== this.#generation) return;
    this.#lastKnown = settings;
    this.#cache = { value: settings, expiresAt: Date.now() + this.#cacheTtlMs };
  }

  #invalidate(): void {
    this.#generation += 1;
    this.#cache = undefined;
    this.#inFlight = undefined;
    for (const listener of this.#invalidationListeners) {
      try {
        listener();
      } catch (err) {
        this.#logger?.warn({ err }, 'settings invalidation listener threw');
      }
    }
  }
}
