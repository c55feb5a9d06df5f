import { setTimeout as sleep } from 'node:timers/promises';
import { closeConnection, createWorkerConnection } from '@telegram-receiver/core';
import { freePort } from '@telegram-receiver/testing';
import { startBase, startOurs } from './e2e.ts';
import { redisCommandStats, type CommandStat } from './lib/redis-command-stats.ts';

/** Options of {@link runIdle}. */
export interface IdleOptions {
  /** How long each measurement lasts, in ms. @defaultValue 30000 */
  windowMs?: number;
  /** Worker replicas of the second measurement. @defaultValue 3 */
  replicas?: number;
  log?: (line: string) => void;
}

/** Commands per second Redis served while the services had nothing to do. */
export interface IdleRow {
  workers: number;
  commandsPerSecond: number;
  byCommand: { command: string; perSecond: number }[];
}

export interface IdleReport {
  windowMs: number;
  rows: IdleRow[];
  /** (rate with N workers − rate with 1) / (N − 1): what one more idle worker replica costs Redis. */
  perWorkerReplica: number;
}

async function measure(url: string, windowMs: number): Promise<Omit<IdleRow, 'workers'>> {
  const conn = createWorkerConnection({ url, name: 'bench-idle' });
  try {
    const before = await redisCommandStats(conn);
    await sleep(windowMs);
    const after = await redisCommandStats(conn);
    const old = new Map<string, CommandStat>(before.map(c => [c.command, c]));
    const byCommand = after
      .map(c => ({
        command: c.command,
        perSecond: ((c.calls - (old.get(c.command)?.calls ?? 0)) * 1000) / windowMs,
      }))
      .filter(c => c.perSecond > 0 && c.command !== 'info')
      .sort((a, b) => b.perSecond - a.perSecond);
    return { commandsPerSecond: byCommand.reduce((n, c) => n + c.perSecond, 0), byCommand };
  } finally {
    await closeConnection(conn);
  }
}

/**
 * The Redis cost of quick recovery at idle: the gateway and one worker, then `replicas` workers,
 * with no traffic; INFO commandstats deltas over `windowMs` (locks renewed, stalled checks, lane
 * sweeps, blocking fetches, backlog polls).
 */
export async function runIdle(opts: IdleOptions = {}): Promise<IdleReport> {
  const windowMs = opts.windowMs ?? 30_000;
  const replicas = opts.replicas ?? 3;
  const log = opts.log ?? (() => undefined);
  const gatewayPort = await freePort();
  const base = await startBase(gatewayPort);
  const rows: IdleRow[] = [];
  try {
    for (const workers of [1, replicas]) {
      const ours = await startOurs(base, gatewayPort, workers);
      try {
        await sleep(3000); // past start-up
        rows.push({ workers, ...(await measure(base.redis.url, windowMs)) });
        log(
          `  idle, gateway + ${workers} worker(s): ${rows.at(-1)!.commandsPerSecond.toFixed(2)} commands/s`,
        );
      } finally {
        await ours.stop();
      }
    }
  } finally {
    await base.sandbox.stop();
    await base.redis.close();
  }
  const [one, many] = [rows[0]!, rows[1]!];
  return {
    windowMs,
    rows,
    perWorkerReplica: (many.commandsPerSecond - one.commandsPerSecond) / (replicas - 1),
  };
}

/** The idle results as Markdown. */
export function idleMarkdown(report: IdleReport): string {
  const lines = ['| services | Redis commands/s at idle | by command |', '| --- | ---: | --- |'];
  for (const r of report.rows) {
    const top = r.byCommand.map(c => `${c.command} ${c.perSecond.toFixed(2)}`).join(', ');
    lines.push(`| gateway + ${r.workers} worker(s) | ${r.commandsPerSecond.toFixed(2)} | ${top} |`);
  }
  lines.push(
    '',
    `One more idle worker replica costs Redis ${report.perWorkerReplica.toFixed(2)} commands/s.`,
  );
  return lines.join('\n');
}
