import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { BOT_NAME_PATTERN, TELEGRAM_SECRET_PATTERN } from './config.ts';
import { ConfigError, type ConfigIssue } from './errors/config-error.ts';

/** A bot this deployment serves. */
export interface BotConfig {
  /** Short name, used in `/telegram/webhook/:bot`, job data and logs. */
  name: string;
  /** Bot API token (secret). */
  token: string;
  /** `secret_token` Telegram sends with each webhook; identifies the bot (secret). */
  webhookSecret: string;
}

const TOKEN_PATTERN = /^\d{1,20}:[A-Za-z0-9_-]{1,200}$/;

const botSchema = z.object({
  name: z.string().regex(BOT_NAME_PATTERN, 'name: lower-case letters, digits, _ and -, at most 32'),
  token: z.string().regex(TOKEN_PATTERN, 'token: must look like 123456:ABC-def (as BotFather gives it)'),
  webhookSecret: z
    .string()
    .regex(
      TELEGRAM_SECRET_PATTERN,
      'webhookSecret: 1-256 characters of A-Z a-z 0-9 _ - (Telegram secret_token rules)',
    ),
});

const digest = (s: string) => createHash('sha256').update(s).digest();

/** What services look bots up with: a {@link BotRegistry}, or a {@link LiveBots} that reloads it. */
export interface BotLookup {
  readonly size: number;
  all(): BotConfig[];
  byName(name: string): BotConfig | undefined;
  bySecret(secret: string | undefined): BotConfig | undefined;
}

/** A bot (or an old webhook secret of one) that is still honoured until `until` (epoch ms). */
export interface RetiringBot {
  bot: BotConfig;
  until: number;
}

/**
 * The bots of this deployment, looked up by name or by webhook secret. The secret lookup compares
 * SHA-256 digests with `timingSafeEqual` against every bot, so its timing says nothing about how
 * much of a guess was right, nor which bot matched.
 *
 * After a bots-file rotation, the bots as they were are kept as *retiring* until their overlap
 * ends: an old webhook secret still finds its bot (under its new settings when it still exists,
 * so the new token answers), and a removed bot is still found by name for the updates already
 * queued for it.
 */
export class BotRegistry implements BotLookup {
  readonly #byName = new Map<string, BotConfig>();
  readonly #digests: { digest: Buffer; bot: BotConfig; until: number }[] = [];
  readonly #retiring: readonly RetiringBot[];

  constructor(bots: readonly BotConfig[], retiring: readonly RetiringBot[] = []) {
    for (const bot of bots) this.#byName.set(bot.name, bot);
    this.#retiring = retiring;
    // Retiring secrets first: a secret that now belongs to another bot finds the current owner.
    for (const old of retiring) {
      this.#digests.push({
        digest: digest(old.bot.webhookSecret),
        bot: this.#byName.get(old.bot.name) ?? old.bot,
        until: old.until,
      });
    }
    for (const bot of bots) {
      this.#digests.push({ digest: digest(bot.webhookSecret), bot, until: Number.POSITIVE_INFINITY });
    }
  }

  get size(): number {
    return this.#byName.size;
  }

  /** The current bots (not the retiring ones). */
  all(): BotConfig[] {
    return [...this.#byName.values()];
  }

  /** The retiring bots whose overlap has not ended yet. */
  retiring(now = Date.now()): RetiringBot[] {
    return this.#retiring.filter(r => r.until > now);
  }

  byName(name: string): BotConfig | undefined {
    const bot = this.#byName.get(name);
    if (bot !== undefined || this.#retiring.length === 0) return bot;
    const now = Date.now();
    return this.#retiring.find(r => r.bot.name === name && r.until > now)?.bot;
  }

  /** The bot whose webhook secret equals `secret`, in time independent of the secrets. */
  bySecret(secret: string | undefined): BotConfig | undefined {
    if (secret === undefined || secret.length === 0 || secret.length > 256) return undefined;
    const presented = digest(secret);
    const now = this.#retiring.length === 0 ? 0 : Date.now();
    let found: BotConfig | undefined;
    for (const entry of this.#digests) {
      // Every digest is compared, expired or not, so the time does not depend on which matched.
      if (timingSafeEqual(presented, entry.digest) && entry.until > now) found = entry.bot;
    }
    return found;
  }
}

/** Settings that define bots (a subset of the service config). */
export interface BotSettings {
  BOT_NAME: string;
  TELEGRAM_BOT_TOKEN?: string | undefined;
  TELEGRAM_WEBHOOK_SECRET?: string | undefined;
  BOTS_FILE?: string | undefined;
}

/**
 * Build the registry from the env bot and the optional bots file. Every problem is collected into
 * one {@link ConfigError}; secret values are never quoted.
 */
export function loadBots(settings: BotSettings, readFile: (path: string) => string): BotRegistry {
  const issues: ConfigIssue[] = [];
  const bots: BotConfig[] = [];
  if (settings.TELEGRAM_BOT_TOKEN !== undefined || settings.TELEGRAM_WEBHOOK_SECRET !== undefined) {
    if (settings.TELEGRAM_BOT_TOKEN === undefined) {
      issues.push({ name: 'TELEGRAM_BOT_TOKEN', message: 'required when TELEGRAM_WEBHOOK_SECRET is set' });
    } else if (!TOKEN_PATTERN.test(settings.TELEGRAM_BOT_TOKEN)) {
      issues.push({
        name: 'TELEGRAM_BOT_TOKEN',
        message: 'must look like 123456:ABC-def (as BotFather gives it)',
      });
    }
    if (settings.TELEGRAM_WEBHOOK_SECRET === undefined) {
      issues.push({
        name: 'TELEGRAM_WEBHOOK_SECRET',
        message:
          'required when TELEGRAM_BOT_TOKEN is set: the webhook secret authenticates and identifies the bot',
      });
    }
    if (settings.TELEGRAM_BOT_TOKEN !== undefined && settings.TELEGRAM_WEBHOOK_SECRET !== undefined) {
      bots.push({
        name: settings.BOT_NAME,
        token: settings.TELEGRAM_BOT_TOKEN,
        webhookSecret: settings.TELEGRAM_WEBHOOK_SECRET,
      });
    }
  }
  if (settings.BOTS_FILE !== undefined) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFile(settings.BOTS_FILE));
    } catch (err) {
      const why = err instanceof SyntaxError ? 'is not valid JSON' : 'cannot be read';
      issues.push({ name: 'BOTS_FILE', message: `${settings.BOTS_FILE} ${why}` });
    }
    if (raw !== undefined) {
      const parsed = z.array(botSchema).min(1, 'must list at least one bot').safeParse(raw);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          const where = issue.path.length > 0 ? `bots[${String(issue.path[0])}]: ` : '';
          issues.push({ name: 'BOTS_FILE', message: `${where}${issue.message}` });
        }
      } else {
        bots.push(...parsed.data);
      }
    }
  }
  const seen = { name: new Set<string>(), token: new Set<string>(), webhookSecret: new Set<string>() };
  for (const bot of bots) {
    for (const field of ['name', 'token', 'webhookSecret'] as const) {
      if (seen[field].has(bot[field])) {
        issues.push({
          name: 'BOTS_FILE',
          message: `two bots share the same ${field}${field === 'name' ? ` "${bot.name}"` : ''}`,
        });
      }
      seen[field].add(bot[field]);
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return new BotRegistry(bots);
}
