import type { Redis } from 'ioredis';

/** Calls and server time of one Redis command, from INFO commandstats. */
export interface CommandStat {
  command: string;
  calls: number;
  usec: number;
}

/**
 * Every command's calls and server-side microseconds so far, most expensive first. Divided by the
 * number of updates it says what one update costs Redis, and where (EVALSHA = BullMQ's Lua scripts).
 */
export async function redisCommandStats(redis: Redis): Promise<CommandStat[]> {
  const info = await redis.info('commandstats');
  const stats: CommandStat[] = [];
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    stats.push({ command: m[1]!, calls: Number(m[2]), usec: Number(m[3]) });
  }
  return stats.sort((a, b) => b.usec - a.usec);
}

/** The top commands as "evalsha 2.0 calls, 61 µs" per update. */
export function perUpdate(stats: CommandStat[], updates: number, top = 6): string {
  if (updates === 0) return 'n/a';
  const total = stats.reduce((sum, s) => sum + s.usec, 0);
  const parts = stats
    .slice(0, top)
    .map(s => `${s.command} ${(s.calls / updates).toFixed(2)}× ${Math.round(s.usec / updates)} µs`);
  return `${Math.round(total / updates)} µs of Redis time per update (${parts.join(', ')})`;
}
