import { TARGET_NAMES, type IngestOptions, type TargetName } from '../ingest.ts';

/** A BENCH_* variable that cannot be used; the message says what to set instead. */
export class BenchSettingError extends Error {
  override name = 'BenchSettingError';
}

const list = (value: string | undefined) =>
  value === undefined || value.trim() === ''
    ? undefined
    : value
        .split(',')
        .map(s => s.trim())
        .filter(Boolean);

const MAX_RATE = 100_000;
const MAX_CONCURRENCY = 1024;

/**
 * Ingest options from the environment: BENCH_QUICK=1 (2–3 s phases), BENCH_TARGETS (comma list of
 * raw-http, grammy-koa, gateway), BENCH_RATES (req/s, comma list), BENCH_ROUNDS (saturation rounds), BENCH_CONCURRENCY (saturation
 * connections). Unset or empty means the default.
 */
export function ingestOptionsFromEnv(
  env: Record<string, string | undefined>,
): IngestOptions & { quick: boolean } {
  const quick = env.BENCH_QUICK === '1';
  if (env.BENCH_QUICK !== undefined && !['', '0', '1'].includes(env.BENCH_QUICK)) {
    throw new BenchSettingError('BENCH_QUICK must be 1 (short phases) or 0');
  }
  const targets = list(env.BENCH_TARGETS);
  const unknown = targets?.filter(t => !(TARGET_NAMES as readonly string[]).includes(t)) ?? [];
  if (unknown.length > 0 || targets?.length === 0) {
    throw new BenchSettingError(
      `BENCH_TARGETS: unknown target(s) ${unknown.map(t => JSON.stringify(t.slice(0, 40))).join(', ')}; use a comma list of ${TARGET_NAMES.join(', ')}`,
    );
  }
  const rateText = list(env.BENCH_RATES);
  const rates = rateText?.map(Number);
  if (rates?.some(r => !Number.isFinite(r) || r <= 0 || r > MAX_RATE)) {
    throw new BenchSettingError(`BENCH_RATES: a comma list of req/s in (0, ${MAX_RATE}], e.g. 1000,2000`);
  }
  let concurrency: number | undefined;
  if (env.BENCH_CONCURRENCY !== undefined && env.BENCH_CONCURRENCY.trim() !== '') {
    concurrency = Number(env.BENCH_CONCURRENCY);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
      throw new BenchSettingError(`BENCH_CONCURRENCY: an integer 1–${MAX_CONCURRENCY}, e.g. 64`);
    }
  }
  let rounds: number | undefined;
  if (env.BENCH_ROUNDS !== undefined && env.BENCH_ROUNDS.trim() !== '') {
    rounds = Number(env.BENCH_ROUNDS);
    if (!Number.isInteger(rounds) || rounds < 1 || rounds > 10) {
      throw new BenchSettingError('BENCH_ROUNDS: saturation rounds per target, an integer 1–10, e.g. 3');
    }
  }
  return {
    quick,
    ...(rounds ? { rounds } : {}),
    ...(targets ? { targets: [...new Set(targets)] as TargetName[] } : {}),
    ...(rates ? { rates } : {}),
    ...(concurrency ? { concurrency } : {}),
  };
}
