import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@telegram-receiver/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LiveBots, SecretRedactor, createLogger, loadBots, watchBots, type BotConfig } from '../src/index.ts';

const A1: BotConfig = {
  name: 'alpha',
  token: '111111:alpha-token-one-aaaaaaaaaaaaaaaa',
  webhookSecret: 'alpha_secret_one',
};
const A2: BotConfig = {
  name: 'alpha',
  token: '111111:alpha-token-two-bbbbbbbbbbbbbbbb',
  webhookSecret: 'alpha_secret_two',
};
const B1: BotConfig = {
  name: 'beta',
  token: '222222:beta-token-one-cccccccccccccccccc',
  webhookSecret: 'beta_secret_one',
};

let dir: string;
let file: string;
let lines: string[];
let live: LiveBots | undefined;
const logger = () =>
  createLogger({
    service: 'live-bots-test',
    level: 'debug',
    destination: { write: (l: string) => void lines.push(l) },
  });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tr-bots-'));
  file = join(dir, 'bots.json');
  lines = [];
  await writeFile(file, JSON.stringify([A1, B1]));
});
afterEach(async () => {
  live?.stop();
  live = undefined;
  await rm(dir, { recursive: true, force: true });
});

function liveBots(overlapMs = 60_000): LiveBots {
  const settings = { BOT_NAME: 'default', BOTS_FILE: file };
  return new LiveBots({
    settings,
    initial: loadBots(settings, () => JSON.stringify([A1, B1])),
    overlapMs,
    logger: logger(),
  });
}

describe('LiveBots.reload', () => {
  it('should do nothing while the file is unchanged', async () => {
    live = liveBots();
    live.start();
    expect(await live.reload()).toBe('unchanged');
  });

  it('should put a rotated token and secret in force and honour the old secret during the overlap', async () => {
    live = liveBots();
    live.start();
    await writeFile(file, JSON.stringify([A2, B1]));
    expect(await live.reload()).toBe('reloaded');
    expect(live.byName('alpha')).toEqual(A2);
    expect(live.bySecret(A2.webhookSecret)).toEqual(A2);
    expect(live.bySecret(A1.webhookSecret)).toEqual(A2);
    expect(live.bySecret(B1.webhookSecret)).toEqual(B1);
    const logged = lines.join('\n');
    expect(logged).toContain('reloaded');
    for (const secret of [A1.token, A2.token, A1.webhookSecret, A2.webhookSecret]) {
      expect(logged).not.toContain(secret);
    }
  });

  it('should stop honouring the old secret once the overlap is over', async () => {
    live = liveBots(1);
    live.start();
    await writeFile(file, JSON.stringify([A2, B1]));
    expect(await live.reload()).toBe('reloaded');
    await waitFor(() => live?.bySecret(A1.webhookSecret) === undefined);
    expect(live.bySecret(A2.webhookSecret)).toEqual(A2);
  });

  it('should refuse a broken file, keep the bots in force, and say so once', async () => {
    live = liveBots();
    live.start();
    for (const broken of [
      '[{"name": "alpha", "token": "nope"',
      JSON.stringify([{ ...A2, token: 'not-a-token' }]),
      '[]',
    ]) {
      await writeFile(file, broken);
      expect(await live.reload()).toBe('refused');
      expect(await live.reload()).toBe('unchanged');
      expect(live.byName('alpha')).toEqual(A1);
      expect(live.bySecret(A1.webhookSecret)).toEqual(A1);
    }
    const refusals = lines.filter(l => l.includes('invalid; refused'));
    expect(refusals).toHaveLength(3);
    expect(refusals.join('\n')).not.toContain(A2.webhookSecret);
  });

  it('should refuse an unreadable file and keep the bots in force', async () => {
    live = liveBots();
    live.start();
    await rm(file);
    expect(await live.reload()).toBe('refused');
    expect(live.bySecret(B1.webhookSecret)).toEqual(B1);
    expect(lines.join('\n')).toContain('cannot be read');
  });

  it('should keep a removed bot by name for the overlap', async () => {
    live = liveBots();
    live.start();
    await writeFile(file, JSON.stringify([A1]));
    expect(await live.reload()).toBe('reloaded');
    expect(live.all().map(b => b.name)).toEqual(['alpha']);
    expect(live.byName('beta')).toEqual(B1);
  });
});

describe('watchBots', () => {
  it('should pick up a change by itself, scrub the new secrets and drop the changed clients', async () => {
    const redactor = new SecretRedactor([]);
    const dropped: string[] = [];
    const settings = {
      BOT_NAME: 'default',
      BOTS_FILE: file,
      BOTS_FILE_RELOAD_MS: 20,
      BOTS_SECRET_OVERLAP_SECONDS: 60,
    };
    live = await watchBots({
      config: settings,
      initial: loadBots(settings, () => JSON.stringify([A1, B1])),
      redactor,
      clients: { delete: name => dropped.push(name) },
      logger: logger(),
    });
    await writeFile(file, JSON.stringify([A2]));
    await waitFor(() => live?.byName('alpha')?.token === A2.token);
    expect(dropped.sort()).toEqual(['alpha', 'beta']);
    expect(redactor.redact(`secret ${A2.webhookSecret} here`)).toBe('secret [REDACTED] here');
  });
});
