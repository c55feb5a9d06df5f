import { LRUCache } from 'lru-cache';
import type { BotConfig } from '../bots.ts';
import { TelegramClient, type TelegramClientOptions } from './telegram-client.ts';

/** Options of {@link TelegramClientCache}: every client option but the token, plus the cache size. */
export interface TelegramClientCacheOptions extends Omit<TelegramClientOptions, 'token'> {
  /**
   * Most clients kept (least recently used ones are dropped and rebuilt on demand).
   * @defaultValue 1000
   */
  max?: number;
}

interface Entry {
  token: string;
  client: TelegramClient;
}

/**
 * One {@link TelegramClient} per bot, built on first use. When a bot's token changes (a rotated
 * token in the bots file), the old client is dropped and a new one made, so a revoked token is
 * never used again.
 */
export class TelegramClientCache {
  readonly #cache: LRUCache<string, Entry>;
  readonly #clientOptions: Omit<TelegramClientOptions, 'token'>;

  constructor(opts: TelegramClientCacheOptions) {
    const { max = 1000, ...clientOptions } = opts;
    this.#cache = new LRUCache<string, Entry>({ max });
    this.#clientOptions = clientOptions;
  }

  /** The client of `bot`, made (or remade, when its token changed) as needed. */
  get(bot: BotConfig): TelegramClient {
    const entry = this.#cache.get(bot.name);
    if (entry !== undefined && entry.token === bot.token) return entry.client;
    const client = new TelegramClient({ ...this.#clientOptions, token: bot.token });
    this.#cache.set(bot.name, { token: bot.token, client });
    return client;
  }

  /** Forget the client of a bot (e.g. the bot was removed). */
  delete(botName: string): void {
    this.#cache.delete(botName);
  }

  /** How many clients are cached. */
  get size(): number {
    return this.#cache.size;
  }
}
