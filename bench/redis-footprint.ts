import { closeConnection, createWorkerConnection, type RedisClient } from '@telegram-receiver/core';
import { freePort, waitFor } from '@telegram-receiver/testing';
import { request } from 'undici';
import { startBase, startOurs } from './e2e.ts';
import { BENCH_SECRET_HEADER } from './lib/fake-credentials.ts';
import { LoadGeneratorProcess } from './lib/run-load.ts';

/** Options of {@link runRedisFootprint}. */
export interface RedisFootprintOptions {
  /** Prompts sent, each answered by a cursor-runner callback and a reply. @defaultValue 3000 */
  updates?: number;
  /** Arrival rate, updates/s (open loop, one chat each). @defaultValue 300 */
  rate?: number;
  log?: (line: string) => void;
}

/** The keys of one shape (ids replaced by N), what they take, and how long they live. */
export interface KeyFamily {
  /** The key as {@link keyPattern} gives it. */
  pattern: string;
  keys: number;
  /** Sum of `MEMORY USAGE` over the family, bytes. */
  bytes: number;
  /** Remaining time to live of one of its keys, s; null when it has none (trimmed by count or age, or fixed). */
  ttlSeconds: number | null;
}

export interface RedisFootprintReport {
  updates: number;
  rate: number;
  /** Redis `used_memory` after every reply arrived, minus before the first update, bytes. */
  usedMemoryDelta: number;
  families: KeyFamily[];
  /** Bytes per update of the keys that expire later than an hour (dedup key, send-ledger steps): held a day. */
  dayKeyBytesPerUpdate: number;
  /** Bytes per update of the finished jobs' hashes (no TTL: BullMQ trims them by age and count). */
  jobBytesPerUpdate: number;
}

/**
 * A key's shape: the prefix as `{prefix}` and every id (a part after `-` or `:` with a digit in it,
 * or 5+ hex letters: a request id's random part) as N, so keys of the same kind group together.
 */
export function keyPattern(key: string, prefix: string): string {
  const rest = key.startsWith(prefix) ? `{prefix}${key.slice(prefix.length)}` : key;
  return rest.replace(/(?<=[-:])(?:[0-9a-z]*\d[0-9a-z]*|[a-f]{5,})(?=$|[-:])/g, 'N');
}

async function usedMemory(redis: RedisClient): Promise<number> {
  return Number(/^used_memory:(\d+)/m.exec(await redis.info('memory'))?.[1] ?? 0);
}

async function sendMessages(sandboxUrl: string): Promise<number> {
  const res = await request(`${sandboxUrl}/sandbox/calls?service=telegram&method=sendMessage`);
  return ((await res.body.json()) as { calls: unknown[] }).calls.length;
}

/**
 * What Redis keeps per update (the sizing of `maxmemory`): `updates` prompts go through the whole
 * pipeline (webhook → worker → cursor-runner → callback → reply), then every key is grouped by shape
 * with its `MEMORY USAGE` and TTL.
 */
export async function runRedisFootprint(opts: RedisFootprintOptions = {}): Promise<RedisFootprintReport> {
  const updates = opts.updates ?? 3000;
  const rate = opts.rate ?? 300;
  const log = opts.log ?? (() => undefined);
  const gatewayPort = await freePort();
  const base = await startBase(gatewayPort);
  const generator = LoadGeneratorProcess.start();
  const redis = createWorkerConnection({ url: base.redis.url, name: 'bench-footprint' });
  let stop: (() => Promise<void>) | undefined;
  try {
    const ours = await startOurs(base, gatewayPort, 1, 32);
    stop = ours.stop;
    const prefix = ours.queuePrefix ?? '';
    const before = await usedMemory(redis);
    log(`${updates} prompts at ${rate}/s, each answered by a callback and a reply`);
    const result = await generator.run({
      mode: 'open',
      rate,
      durationMs: Math.ceil((updates * 1000) / rate),
      origin: ours.url,
      headers: BENCH_SECRET_HEADER,
      firstUpdateId: 1,
      promptSuffix: ' [[delay:0]]',
    });
    await waitFor(async () => (await sendMessages(base.sandboxUrl)) >= result.ok, {
      timeoutMs: 120_000,
      intervalMs: 250,
    });
    const after = await usedMemory(redis);
    const families = new Map<string, KeyFamily>();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      // One round trip per SCAN batch: every key's size and TTL.
      const pipeline = redis.pipeline();
      for (const key of keys) pipeline.memory('USAGE', key).ttl(key);
      const replies = (await pipeline.exec()) ?? [];
      keys.forEach((key, i) => {
        const bytes = Number(replies[2 * i]?.[1]) || 0;
        const ttl = Number(replies[2 * i + 1]?.[1]);
        const pattern = keyPattern(key, prefix);
        let family = families.get(pattern);
        if (family === undefined) {
          family = { pattern, keys: 0, bytes: 0, ttlSeconds: ttl < 0 ? null : ttl };
          families.set(pattern, family);
        }
        family.keys++;
        family.bytes += bytes;
      });
    } while (cursor !== '0');
    const all = [...families.values()].sort((a, b) => b.bytes - a.bytes);
    const perUpdate = (pick: (f: KeyFamily) => boolean) =>
      all.filter(pick).reduce((sum, f) => sum + f.bytes, 0) / result.ok;
    return {
      updates: result.ok,
      rate,
      usedMemoryDelta: after - before,
      families: all,
      dayKeyBytesPerUpdate: perUpdate(f => f.ttlSeconds !== null && f.ttlSeconds > 3600),
      // A finished job is a hash named <prefix>:<queue>:<job id>, with no TTL.
      jobBytesPerUpdate: perUpdate(
        f => f.ttlSeconds === null && /^\{prefix\}:(updates|callbacks):[a-z-]+-N(-N)?$/.test(f.pattern),
      ),
    };
  } finally {
    await closeConnection(redis);
    await generator.close();
    await stop?.();
    await base.sandbox.stop();
    await base.redis.close();
  }
}

/** The families as a table, and `maxmemory` for a steady rate from the measured bytes per update. */
export function redisFootprintMarkdown(r: RedisFootprintReport): string {
  const kb = (bytes: number) => (bytes / 1000).toFixed(1);
  const lines = [
    `Redis footprint: ${r.updates.toLocaleString('en-US')} prompts at ${r.rate}/s, each answered (callback and reply); used_memory grew ${kb(r.usedMemoryDelta)} kB (${Math.round(r.usedMemoryDelta / r.updates)} B per update).`,
    '',
    '| key (ids as N) | keys | kB | B per update | TTL |',
    '| --- | ---: | ---: | ---: | --- |',
    ...r.families
      .filter(f => f.bytes >= 1000)
      .map(
        f =>
          `| \`${f.pattern}\` | ${f.keys} | ${kb(f.bytes)} | ${Math.round(f.bytes / r.updates)} | ${f.ttlSeconds === null ? 'none' : `${Math.round(f.ttlSeconds / 3600)} h`} |`,
      ),
    '',
    `Held a day (TTL > 1 h): ${Math.round(r.dayKeyBytesPerUpdate)} B per update; finished jobs' hashes (trimmed by age and count): ${Math.round(r.jobBytesPerUpdate)} B per update.`,
  ];
  return lines.join('\n');
}
