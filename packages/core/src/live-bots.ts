import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import {
  BotRegistry,
  loadBots,
  type BotConfig,
  type BotLookup,
  type BotSettings,
  type RetiringBot,
} from './bots.ts';
import { ConfigError } from './errors/config-error.ts';

/** Options of {@link LiveBots}. */
export interface LiveBotsOptions {
  /** The settings the registry was first loaded from (BOTS_FILE names the file that is watched). */
  settings: BotSettings;
  /** The registry loaded at start-up (`loadBots`). */
  initial: BotRegistry;
  /** How often the file is read again. @defaultValue 5000 */
  intervalMs?: number;
  /** How long an old webhook secret (or a removed bot) is still honoured after a reload. @defaultValue 3600000 */
  overlapMs?: number;
  /** Reads the bots file. @defaultValue fs.promises.readFile as UTF-8 */
  read?: (path: string) => Promise<string>;
  /**
   * Told every accepted change: scrub the new secrets, drop the cached clients of changed tokens.
   * Errors are logged; the new registry is in force anyway.
   */
  onReload?: (change: BotsChange) => void;
  logger: Logger;
}

/** What a reload changed. */
export interface BotsChange {
  registry: BotRegistry;
  /** Bots that are new, or whose token or webhook secret changed. */
  changed: BotConfig[];
  /** Names of bots that left the file (honoured by name until their overlap ends). */
  removed: string[];
}

/** What {@link LiveBots.reload} did. */
export type ReloadOutcome =
  /** The file is byte-for-byte what was loaded last: nothing to do. */
  | 'unchanged'
  /** The new file is in force; old secrets and removed bots are honoured for the overlap. */
  | 'reloaded'
  /** The new file is invalid or unreadable: refused with a log line, the bots in force stay. */
  | 'refused';

/**
 * The bots of a deployment whose bots file is rotated without a restart (tokens, webhook secrets).
 *
 * Why polling the content rather than `fs.watch`: a Kubernetes Secret volume is updated by swapping
 * a symlink, which file watchers miss or report twice; reading a small file every few seconds and
 * comparing its digest sees every change and costs nothing. An invalid file never replaces a valid
 * one: a typo during a rotation must not take every bot down.
 */
export class LiveBots implements BotLookup {
  readonly #opts: LiveBotsOptions & { intervalMs: number; overlapMs: number };
  readonly #path: string | undefined;
  #registry: BotRegistry;
  #digest: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reloading: Promise<ReloadOutcome> | undefined;

  constructor(opts: LiveBotsOptions) {
    this.#opts = { intervalMs: 5000, overlapMs: 3_600_000, ...opts };
    this.#path = opts.settings.BOTS_FILE;
    this.#registry = opts.initial;
  }

  /** The registry in force. */
  get registry(): BotRegistry {
    return this.#registry;
  }

  get size(): number {
    return this.#registry.size;
  }

  all(): BotConfig[] {
    return this.#registry.all();
  }

  byName(name: string): BotConfig | undefined {
    return this.#registry.byName(name);
  }

  bySecret(secret: string | undefined): BotConfig | undefined {
    return this.#registry.bySecret(secret);
  }

  /** Read the file every `intervalMs` until {@link stop}. No-op without a bots file. */
  start(): void {
    if (this.#path === undefined || this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      this.reload().catch((err: unknown) => this.#opts.logger.error({ err }, 'bots file: reload failed'));
    }, this.#opts.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Read the bots file and put it in force if it changed and is valid. Never two at once. */
  reload(): Promise<ReloadOutcome> {
    this.#reloading ??= this.#reloadOnce().finally(() => (this.#reloading = undefined));
    return this.#reloading;
  }

  async #reloadOnce(): Promise<ReloadOutcome> {
    const path = this.#path;
    if (path === undefined) return 'unchanged';
    let text: string;
    try {
      text = await this.#read();
    } catch (err) {
      this.#opts.logger.error(
        { code: (err as NodeJS.ErrnoException).code },
        `bots file ${path} cannot be read; the bots in force stay`,
      );
      return 'refused';
    }
    const digest = digestOf(text);
    if (digest === this.#digest) return 'unchanged';
    let next: BotRegistry;
    try {
      next = loadBots(this.#opts.settings, () => text);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      // The issues name fields and positions, never secret values.
      this.#opts.logger.error(
        { problems: err.issues.map(i => `${i.name}: ${i.message}`) },
        `bots file ${path} is invalid; refused, the bots in force stay`,
      );
      // Remember it, so the same broken file is reported once, not every poll.
      this.#digest = digest;
      return 'refused';
    }
    const previous = this.#registry;
    // The first read finds what start-up loaded (no digest yet): nothing changed, and reading it
    // again here rather than at start leaves no window for a change to slip in unseen.
    if (this.#digest === undefined && sameBots(previous, next)) {
      this.#digest = digest;
      return 'unchanged';
    }
    const now = Date.now();
    const until = now + this.#opts.overlapMs;
    const retiring: RetiringBot[] = [
      ...previous.retiring(now),
      ...previous
        .all()
        .filter(old => !sameBot(old, next.byName(old.name)))
        .map(bot => ({ bot, until })),
    ];
    this.#registry = new BotRegistry(next.all(), retiring);
    this.#digest = digest;
    const change: BotsChange = {
      registry: this.#registry,
      changed: next.all().filter(
        bot =>
          !sameBot(
            bot,
            previous.all().find(b => b.name === bot.name),
          ),
      ),
      removed: previous
        .all()
        .filter(old => next.byName(old.name) === undefined)
        .map(old => old.name),
    };
    try {
      this.#opts.onReload?.(change);
    } catch (err) {
      this.#opts.logger.error({ err }, 'bots file: reload hook failed');
    }
    this.#opts.logger.info(
      {
        bots: next.all().map(b => b.name),
        changed: change.changed.map(b => b.name),
        removed: change.removed,
        overlapMs: this.#opts.overlapMs,
      },
      `bots file ${path} reloaded`,
    );
    return 'reloaded';
  }

  #read(): Promise<string> {
    const path = this.#path as string;
    return this.#opts.read ? this.#opts.read(path) : readFile(path, 'utf8');
  }
}

function digestOf(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function sameBots(a: BotRegistry, b: BotRegistry): boolean {
  return a.size === b.size && a.all().every(bot => sameBot(bot, b.byName(bot.name)));
}

function sameBot(a: BotConfig, b: BotConfig | undefined): boolean {
  return b !== undefined && a.token === b.token && a.webhookSecret === b.webhookSecret;
}

/** The settings of a bots-file rotation (in every service's env). */
export interface BotsReloadSettings extends BotSettings {
  BOTS_FILE_RELOAD_MS: number;
  BOTS_SECRET_OVERLAP_SECONDS: number;
}

/**
 * The bots of a service, reloaded from BOTS_FILE as it changes: new secrets are scrubbed from
 * logs from then on, and the cached Bot API client of a bot whose token changed (or that left) is
 * dropped. Started; call `stop()` on shutdown.
 */
export async function watchBots(opts: {
  config: BotsReloadSettings;
  initial: BotRegistry;
  redactor: { add(secrets: Iterable<string | undefined>): void };
  clients?: { delete(botName: string): void };
  logger: Logger;
}): Promise<LiveBots> {
  const live = new LiveBots({
    settings: opts.config,
    initial: opts.initial,
    intervalMs: opts.config.BOTS_FILE_RELOAD_MS,
    overlapMs: opts.config.BOTS_SECRET_OVERLAP_SECONDS * 1000,
    logger: opts.logger,
    onReload: change => {
      opts.redactor.add(change.changed.flatMap(bot => [bot.token, bot.webhookSecret]));
      for (const name of [...change.changed.map(bot => bot.name), ...change.removed]) {
        opts.clients?.delete(name);
      }
    },
  });
  live.start();
  return live;
}
