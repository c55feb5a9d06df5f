// Micro-benchmark of the gateway's Redis writes per webhook, client side: `node bench/micro/redis-writes.ts`.
// Compares the BullMQ add (with dedup) and the lane write as an ioredis MULTI (ZADD + PEXPIRE) with
// the same lane write as one Lua script (EVALSHA). 32 concurrent writers, a private Redis with AOF
// everysec. Reports ops/s (noisy on a shared machine) and the client CPU per op (steadier).
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { RedisServer } from '@telegram-receiver/testing';
import { updateBodyFactory } from '../lib/update-body.ts';

const VARIANTS = [
  'bullmq add',
  'lane MULTI',
  'lane MULTI, plain',
  'lane Lua',
  'add + lane MULTI',
  'add + lane Lua',
] as const;
const LANE_LUA =
  "local r = redis.call('ZADD', KEYS[1], ARGV[1], ARGV[1]); redis.call('PEXPIRE', KEYS[1], ARGV[2]); return r";
const TTL = 86_400_000;
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const SECONDS = Number(process.env.SECONDS ?? 3);

const redis = await RedisServer.start({ appendOnly: true, appendFsync: 'everysec' });
const body = updateBodyFactory({ firstUpdateId: 1 });
try {
  for (let round = 1; round <= ROUNDS; round++) {
    for (const variant of VARIANTS) {
      const conn = new Redis(redis.url, { maxRetriesPerRequest: 1 });
      conn.defineCommand('laneAdd', { numberOfKeys: 1, lua: LANE_LUA });
      const laneLua = (key: string, id: number) =>
        (conn as unknown as { laneAdd(k: string, id: number, ttl: number): Promise<number> }).laneAdd(
          key,
          id,
          TTL,
        );
      // ioredis copies every script defined on a connection into each new pipeline/MULTI, and the
      // queue defines BullMQ's scripts on `conn`; `plain` has none of them.
      const plain = new Redis(redis.url, { maxRetriesPerRequest: 1 });
      const laneMulti = (key: string, id: number, on = conn) =>
        on.multi().zadd(key, id, String(id)).pexpire(key, TTL).exec();
      const queue = new Queue('updates', { connection: conn, prefix: `micro${round}${variant.length}` });
      await queue.waitUntilReady();
      if (round === 1 && variant === 'bullmq add') {
        const scripts = Object.keys((conn as unknown as { scriptsSet: object }).scriptsSet).length;
        process.stdout.write(`scripts defined on the BullMQ connection: ${scripts}\n`);
      }
      let id = round * 10_000_000;
      let ops = 0;
      const end = performance.now() + SECONDS * 1000;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const writer = async () => {
        while (performance.now() < end) {
          const i = id++;
          const update = JSON.parse(body(i)) as unknown;
          const key = `lane:{default:chat:${i % 10_000}}`;
          const add = () =>
            queue.add(
              'telegram-update',
              { bot: 'default', update, lane: 'chat:1', receivedAt: Date.now() },
              { jobId: `default-${i}`, deduplication: { id: `default-${i}`, ttl: TTL } },
            );
          if (variant === 'bullmq add') await add();
          else if (variant === 'lane MULTI') await laneMulti(key, i);
          else if (variant === 'lane MULTI, plain') await laneMulti(key, i, plain);
          else if (variant === 'lane Lua') await laneLua(key, i);
          else if (variant === 'add + lane MULTI') await Promise.all([add(), laneMulti(key, i)]);
          else await Promise.all([add(), laneLua(key, i)]);
          ops++;
        }
      };
      await Promise.all(Array.from({ length: 32 }, writer));
      const cpu = process.cpuUsage(cpu0);
      const secs = (performance.now() - t0) / 1000;
      process.stdout.write(
        `round ${round}  ${variant.padEnd(18)} ${String(Math.round(ops / secs)).padStart(6)} ops/s  ` +
          `${String(Math.round((cpu.user + cpu.system) / ops)).padStart(4)} µs client CPU/op\n`,
      );
      await queue.close();
      conn.disconnect();
      plain.disconnect();
    }
  }
} finally {
  await redis.close();
}
