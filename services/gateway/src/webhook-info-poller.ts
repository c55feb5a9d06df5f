import {
  METRIC_PREFIX,
  type BotLookup,
  type Logger,
  type MetricsRegistry,
  type RedisClient,
} from '@telegram-receiver/core';
import { Gauge } from 'prom-client';

/** What the poller needs of the Bot API clients. */
export interface WebhookInfoSource {
  get(bot: { name: string; token: string }): {
    getWebhookInfo(): Promise<{ pending_update_count: number; last_error_date?: number }>;
  };
}

/** Options of {@link WebhookInfoPoller}. */
export interface WebhookInfoPollerOptions {
  bots: BotLookup;
  telegram: WebhookInfoSource;
  /** Holds the lease that lets one replica at a time poll. */
  redis: RedisClient;
  /** QUEUE_PREFIX: the lease key is `<prefix>:webhook-info:lease`. */
  prefix: string;
  registry: MetricsRegistry;
  logger: Logger;
  /** Time between two polls, in ms; also the lease's lifetime. */
  intervalMs: number;
  /** Names this replica in the lease. */
  holder: string;
}

// Take the lease if it is free or already ours, for one interval.
// KEYS: 1 lease key. ARGV: 1 holder, 2 lease ms. Returns 1 when this holder polls now.
const LEASE_LUA = `
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

/**
 * Telegram's own view of each bot's webhook — `pending_update_count` (updates Telegram holds
 * because we have not taken them) and `last_error_date` — as gauges, polled by one replica at a time
 * (a Redis lease renewed every interval), so N replicas do not cost N times the Bot API calls.
 * Only the polling replica exports the gauges; dashboards take `max by (bot)`.
 */
export class WebhookInfoPoller {
  readonly #o: WebhookInfoPollerOptions;
  readonly #pending: Gauge<'bot'>;
  readonly #lastError: Gauge<'bot'>;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(opts: WebhookInfoPollerOptions) {
    this.#o = opts;
    const registers = [opts.registry];
    this.#pending = new Gauge({
      name: `${METRIC_PREFIX}webhook_pending_updates`,
      help: "Updates Telegram holds for the bot's webhook (getWebhookInfo pending_update_count), polled by one replica.",
      labelNames: ['bot'],
      registers,
    });
    this.#lastError = new Gauge({
      name: `${METRIC_PREFIX}webhook_last_error_timestamp_seconds`,
      help: "Unix time of Telegram's last failed delivery to the bot's webhook (getWebhookInfo last_error_date; 0 = none).",
      labelNames: ['bot'],
      registers,
    });
  }

  /** Poll now and every interval until {@link stop}. */
  start(): void {
    if (this.#timer !== undefined) return;
    const tick = () => {
      this.#running = this.poll()
        .then(() => undefined)
        .finally(() => (this.#running = undefined));
    };
    tick();
    this.#timer = setInterval(tick, this.#o.intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** One round: take the lease, then ask Telegram about every bot. Never throws. */
  async poll(): Promise<boolean> {
    const { redis, prefix, holder, intervalMs, bots, telegram, logger } = this.#o;
    let mine: boolean;
    try {
      mine = (await redis.eval(LEASE_LUA, 1, `${prefix}:webhook-info:lease`, holder, intervalMs)) === 1;
    } catch {
      return false;
    }
    if (!mine) {
      // Another replica reports; stale values of ours would double the series.
      this.#pending.reset();
      this.#lastError.reset();
      return false;
    }
    await Promise.all(
      bots.all().map(async bot => {
        try {
          const info = await telegram.get(bot).getWebhookInfo();
          this.#pending.set({ bot: bot.name }, info.pending_update_count);
          this.#lastError.set({ bot: bot.name }, info.last_error_date ?? 0);
        } catch (err) {
          logger.debug({ err, bot: bot.name }, 'getWebhookInfo failed');
        }
      }),
    );
    return true;
  }
}
