import { execFile } from 'node:child_process';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Facts about the machine a result came from, stored with every result file. */
export interface MachineFacts {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  redis: string;
  /** 1/5/15-minute load average when the run started (other work on a shared machine shows here). */
  loadAverage: number[];
  gitCommit: string;
}

async function firstLine(cmd: string, args: string[], cwd?: string): Promise<string> {
  try {
    const { stdout } = await run(cmd, args, { cwd, timeout: 5000 });
    return stdout.trim().split('\n')[0] ?? '';
  } catch {
    return 'unknown';
  }
}

export async function machineFacts(repoDir: string): Promise<MachineFacts> {
  const redis = await firstLine('redis-server', ['--version']);
  return {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    redis: /v=(\S+)/.exec(redis)?.[1] ?? redis,
    loadAverage: loadavg().map(v => Math.round(v * 100) / 100),
    gitCommit: await firstLine('git', ['rev-parse', '--short', 'HEAD'], repoDir),
  };
}
