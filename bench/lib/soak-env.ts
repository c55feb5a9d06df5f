import { fileURLToPath } from 'node:url';
import type { SoakOptions } from '../soak.ts';
import { BenchSettingError } from './bench-env.ts';

const number = (
  env: Record<string, string | undefined>,
  name: string,
  fallback: number,
  max: number,
): number => {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || n > max) {
    throw new BenchSettingError(`${name} must be a number in (0, ${max}]`);
  }
  return n;
};

/**
 * Soak options from the environment: SOAK_MINUTES (default 30, BENCH_QUICK=1: 2), SOAK_RATE
 * (updates/s, default 300), SOAK_WORKERS (default 1), SOAK_SNAPSHOTS=1 (heap snapshots at the end of
 * the warm-up and near the end; default on in full mode, off in quick mode). The plot and the
 * snapshots go to bench/results/.
 */
export function soakOptionsFromEnv(
  env: Record<string, string | undefined>,
  quick: boolean,
): Omit<SoakOptions, 'log'> {
  const minutes = number(env, 'SOAK_MINUTES', quick ? 2 : 30, 120);
  const workers = number(env, 'SOAK_WORKERS', 1, 16);
  if (!Number.isInteger(workers)) throw new BenchSettingError('SOAK_WORKERS must be a whole number');
  const snapshots =
    env.SOAK_SNAPSHOTS === undefined || env.SOAK_SNAPSHOTS === '' ? !quick : env.SOAK_SNAPSHOTS === '1';
  const stamp = new Date()
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replaceAll(':', '-');
  const results = fileURLToPath(new URL('../results/', import.meta.url));
  return {
    durationMs: Math.round(minutes * 60_000),
    rate: number(env, 'SOAK_RATE', 300, 20_000),
    workers,
    snapshotDir: snapshots ? `${results}soak-snapshots-${stamp}` : undefined,
    plotFile: `${results}soak-${stamp}${quick ? '-quick' : ''}.png`,
  };
}
