import { inSpan, type RedisClient } from '@telegram-receiver/core';
import { LuaScript } from '../redis/lua-script.ts';

/** A rate as "one every `intervalMs`, with bursts of up to `burst`". */
export interface PaceRate {
  intervalMs: number;
  burst: number;
}

/** Options of {@link SendPacer}. */
export interface SendPacerOptions {
  redis: RedisClient;
  /** QUEUE_PREFIX: keys are `<prefix>:pace:{<bot>}:…`. */
  prefix: string;
  /** A private chat. @defaultValue one a second, bursts of 3 (Telegram: avoid more than 1 msg/s per chat) */
  privateChat?: PaceRate;
  /** A group or channel (negative chat id). @defaultValue one every 3 s, bursts of 5 (Telegram: 20 msg/min per group) */
  groupChat?: PaceRate;
  /** All chats of one bot. @defaultValue one every 34 ms, bursts of 30 (Telegram: about 30 msg/s per bot) */
  bot?: PaceRate;
  /** Longest wait handed out; a reservation beyond it waits this long and goes anyway (Telegram's 429 then steers). @defaultValue 10000 */
  maxWaitMs?: number;
  /** Told each wait handed out by {@link SendPacer.wait}, in ms (the pacing-wait metric). */
  onWait?: (ms: number) => void;
}

// GCRA with reservation, for two keys at once (the chat and the bot): each call books the next
// free slot on both and returns how long to wait for the later one, in one round trip. Keys expire
// once their theoretical arrival time has passed. KEYS: chat, bot. ARGV: interval/burst of each.
const RESERVE_SCRIPT = new LuaScript(
  `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wait = 0
for i = 1, 2 do
  local interval = tonumber(ARGV[i * 2 - 1])
  local burst = tonumber(ARGV[i * 2])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < now then tat = now end
  local allowAt = tat - interval * (burst - 1)
  if allowAt > now and allowAt - now > wait then wait = allowAt - now end
  local newTat = tat + interval
  redis.call('SET', KEYS[i], newTat, 'PX', math.max(1, newTat - now))
end
return wait
`,
  2,
);

const DEFAULTS = {
  privateChat: { intervalMs: 1000, burst: 3 },
  groupChat: { intervalMs: 3000, burst: 5 },
  bot: { intervalMs: 34, burst: 30 },
  maxWaitMs: 10_000,
};

/**
 * Paces messages to Telegram's limits across every worker replica (design non-negotiable 4): the
 * schedule lives in Redis, so ten replicas together still send one message a second to a chat.
 * Each send books a slot and sleeps until it; nothing is dropped.
 */
export class SendPacer {
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly #o: typeof DEFAULTS;
  readonly #onWait: ((ms: number) => void) | undefined;

  constructor(opts: SendPacerOptions) {
    this.#redis = opts.redis;
    this.#onWait = opts.onWait;
    this.#prefix = opts.prefix;
    this.#o = {
      privateChat: opts.privateChat ?? DEFAULTS.privateChat,
      groupChat: opts.groupChat ?? DEFAULTS.groupChat,
      bot: opts.bot ?? DEFAULTS.bot,
      maxWaitMs: opts.maxWaitMs ?? DEFAULTS.maxWaitMs,
    };
  }

  /** Book the next slot for a message from `bot` to `chatId`; returns the wait in ms (0 = now). */
  async reserve(bot: string, chatId: number): Promise<number> {
    const chatRate = chatId < 0 ? this.#o.groupChat : this.#o.privateChat;
    const { bot: botRate } = this.#o;
    // One hash tag per bot keeps both keys in one Redis Cluster slot.
    const wait = (await RESERVE_SCRIPT.run(
      this.#redis,
      [`${this.#prefix}:pace:{${bot}}:chat:${chatId}`, `${this.#prefix}:pace:{${bot}}:all`],
      [chatRate.intervalMs, chatRate.burst, botRate.intervalMs, botRate.burst],
    )) as number;
    return Math.min(Math.max(0, wait), this.#o.maxWaitMs);
  }

  /** Wait for the next slot of this chat. */
  async wait(bot: string, chatId: number): Promise<void> {
    await inSpan('pacing wait', { 'telegram.bot': bot }, async span => {
      const ms = await this.reserve(bot, chatId);
      span?.setAttribute('telegram_receiver.wait_ms', ms);
      this.#onWait?.(ms);
      if (ms > 0) await new Promise(resolve => setTimeout(resolve, ms));
    });
  }
}
