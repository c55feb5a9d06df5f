import { describe, expect, it } from 'vitest';
import { BotRegistry, ConfigError, loadBots } from '../src/index.ts';

const TOKEN_A = '111111:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
const TOKEN_B = '222222:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB';
const noFile = () => {
  throw new Error('ENOENT');
};

describe('loadBots(settings, readFile)', () => {
  it('should build one bot from the environment', () => {
    const bots = loadBots(
      { BOT_NAME: 'default', TELEGRAM_BOT_TOKEN: TOKEN_A, TELEGRAM_WEBHOOK_SECRET: 'secret-a' },
      noFile,
    );
    expect(bots.size).toBe(1);
    expect(bots.bySecret('secret-a')?.name).toBe('default');
  });

  it('should add the bots of a bots file', () => {
    const file = JSON.stringify([{ name: 'second', token: TOKEN_B, webhookSecret: 'secret-b' }]);
    const bots = loadBots(
      {
        BOT_NAME: 'first',
        TELEGRAM_BOT_TOKEN: TOKEN_A,
        TELEGRAM_WEBHOOK_SECRET: 'secret-a',
        BOTS_FILE: '/bots.json',
      },
      () => file,
    );
    expect(bots.all().map(b => b.name)).toEqual(['first', 'second']);
    expect(bots.byName('second')?.token).toBe(TOKEN_B);
  });

  it('should require the webhook secret with a token, and the reverse', () => {
    expect(() => loadBots({ BOT_NAME: 'd', TELEGRAM_BOT_TOKEN: TOKEN_A }, noFile)).toThrow(
      /TELEGRAM_WEBHOOK_SECRET/,
    );
    expect(() => loadBots({ BOT_NAME: 'd', TELEGRAM_WEBHOOK_SECRET: 'abcdef' }, noFile)).toThrow(
      /TELEGRAM_BOT_TOKEN/,
    );
  });

  it('should report malformed files, bad fields and duplicates without quoting secrets', () => {
    expect(() => loadBots({ BOT_NAME: 'd', BOTS_FILE: '/x' }, () => '{not json')).toThrow(/not valid JSON/);
    expect(() => loadBots({ BOT_NAME: 'd', BOTS_FILE: '/x' }, noFile)).toThrow(/cannot be read/);
    expect(() => loadBots({ BOT_NAME: 'd', BOTS_FILE: '/x' }, () => '[]')).toThrow(/at least one bot/);
    const hostile = JSON.stringify([
      { name: '../etc', token: 'nope', webhookSecret: 'has space', __proto__: {} },
    ]);
    try {
      loadBots({ BOT_NAME: 'd', BOTS_FILE: '/x' }, () => hostile);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues.length).toBe(3);
      expect((err as Error).message).not.toContain('has space');
    }
    const dup = JSON.stringify([
      { name: 'a', token: TOKEN_A, webhookSecret: 'same-secret' },
      { name: 'b', token: TOKEN_B, webhookSecret: 'same-secret' },
    ]);
    expect(() => loadBots({ BOT_NAME: 'd', BOTS_FILE: '/x' }, () => dup)).toThrow(/same webhookSecret/);
  });
});

describe('BotRegistry.bySecret(secret)', () => {
  const registry = new BotRegistry([
    { name: 'a', token: TOKEN_A, webhookSecret: 'secret-a' },
    { name: 'b', token: TOKEN_B, webhookSecret: 'secret-b' },
  ]);

  it('should find the bot whose secret matches', () => {
    expect(registry.bySecret('secret-b')?.name).toBe('b');
  });

  it('should find nothing for missing, empty, wrong, prefix and oversized secrets', () => {
    for (const s of [undefined, '', 'secret-', 'secret-a ', 'SECRET-A', 'x'.repeat(10_000)]) {
      expect(registry.bySecret(s)).toBeUndefined();
    }
  });
});

describe('BotRegistry with retiring bots', () => {
  const current = { name: 'alpha', token: TOKEN_B, webhookSecret: 'new-secret' };
  const old = { name: 'alpha', token: TOKEN_A, webhookSecret: 'old-secret' };
  const gone = {
    name: 'gone',
    token: '333333:CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC',
    webhookSecret: 'gone-secret',
  };

  it('should find the current bot by an old secret until its overlap ends', () => {
    const bots = new BotRegistry([current], [{ bot: old, until: Date.now() + 60_000 }]);
    expect(bots.bySecret('new-secret')).toBe(current);
    // The old secret answers with the bot as it is now: the new token sends the replies.
    expect(bots.bySecret('old-secret')).toBe(current);
    expect(bots.all()).toEqual([current]);
  });

  it('should forget an old secret and a removed bot once their overlap ended', () => {
    const bots = new BotRegistry(
      [current],
      [
        { bot: old, until: Date.now() - 1 },
        { bot: gone, until: Date.now() - 1 },
      ],
    );
    expect(bots.bySecret('old-secret')).toBeUndefined();
    expect(bots.byName('gone')).toBeUndefined();
    expect(bots.retiring()).toEqual([]);
  });

  it('should still find a removed bot by name and secret during the overlap', () => {
    const bots = new BotRegistry([current], [{ bot: gone, until: Date.now() + 60_000 }]);
    expect(bots.byName('gone')).toBe(gone);
    expect(bots.bySecret('gone-secret')).toBe(gone);
    expect(bots.size).toBe(1);
  });

  it('should give a secret that moved to another bot to its new owner', () => {
    const beta = { name: 'beta', token: TOKEN_A, webhookSecret: 'old-secret' };
    const bots = new BotRegistry([current, beta], [{ bot: old, until: Date.now() + 60_000 }]);
    expect(bots.bySecret('old-secret')).toBe(beta);
  });
});
