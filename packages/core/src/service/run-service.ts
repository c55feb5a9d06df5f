import type { z } from 'zod';
import { loadConfig, SECRET_ENV_VARS, type CommonEnv } from '../config.ts';
import { ConfigError } from '../errors/config-error.ts';
import { createLogger, type Logger } from '../logger.ts';
import { SecretRedactor } from '../redact.ts';
import { useTraceRedactor } from '../tracing/span-redactor.ts';
import { stopTracing } from '../tracing/tracing-state.ts';

/** What {@link ServiceDefinition.start} receives. */
export interface ServiceContext<C, P> {
  /** The validated environment. */
  config: C;
  /** What {@link ServiceDefinition.prepare} returned. */
  prepared: P;
  logger: Logger;
  /** Scrubs every secret of this process (the same list the logger uses). */
  redactor: SecretRedactor;
  /** Every secret value of this process (for clients that build their own redactor). */
  secrets: readonly string[];
}

/** A started service: how to stop it, and what to say once it listens. */
export interface StartedService {
  /** The start-up log line, e.g. `gateway listening on 0.0.0.0:3000 (ops 9101)`. */
  message: string;
  /** Fields of the start-up log line. */
  details?: Record<string, unknown>;
  /**
   * Graceful stop within `SHUTDOWN_GRACE_MS`, then close every connection. The process exits 0 when
   * it resolves, 1 when it rejects or takes longer than the grace period plus 5 s.
   */
  stop(): Promise<void>;
}

/** One service process, as {@link runService} runs it. */
export interface ServiceDefinition<S extends CommonEnv & z.ZodRawShape, P> {
  /** Short name, the `service` field of every log line and the prefix of every config error. */
  name: string;
  /** The service's env schema (`{ ...commonEnv, ... }`). */
  env: S;
  /**
   * Further checks and loading that need the config (e.g. the bots file). Throw a
   * {@link ConfigError} to refuse to start with one line per problem. May load what only an
   * enabled feature needs (`await import(…)`), so a feature that is off loads nothing.
   */
  prepare(config: z.output<z.ZodObject<S>>): P | Promise<P>;
  /** Secret values beyond the secret env vars and the Redis password (e.g. tokens of the bots file). */
  secrets?(prepared: P): Iterable<string | undefined>;
  /** Warnings worth a line at start-up (a missing optional credential and what it disables). */
  warnings?(config: z.output<z.ZodObject<S>>, prepared: P): string[];
  /** Build the service and start it; resolves once it serves. */
  start(ctx: ServiceContext<z.output<z.ZodObject<S>>, P>): Promise<StartedService>;
}

/** Test seams of {@link runService}. */
export interface RunServiceOptions {
  /** @defaultValue process.env */
  env?: Record<string, string | undefined>;
  /** @defaultValue process.exit */
  exit?: (code: number) => void;
}

/** Every secret value in `config`: the secret env vars and the password inside REDIS_URL. */
export function secretsOf(config: Record<string, unknown>): string[] {
  const values: string[] = [];
  for (const name of SECRET_ENV_VARS) {
    const value = config[name];
    // A rotation list: each value on its own, so a log line holding one of them is scrubbed too.
    for (const one of Array.isArray(value) ? (value as unknown[]) : [value]) {
      if (typeof one === 'string' && one !== '') values.push(one);
    }
  }
  const url = config.REDIS_URL;
  if (typeof url === 'string' && URL.canParse(url)) {
    const password = new URL(url).password;
    if (password !== '') values.push(decodeURIComponent(password));
  }
  return values;
}

/**
 * The one shell of every service's `main.ts`: validate the environment (exit 1 with one line per
 * problem, never quoting a secret), build the logger that scrubs every secret, crash loudly on an
 * uncaught error, start, log the start-up line, and on SIGTERM/SIGINT stop gracefully within
 * `SHUTDOWN_GRACE_MS` (exit 1 if the stop hangs), flushing the last spans. Spans are scrubbed of the
 * same secrets as the log.
 */
export async function runService<S extends CommonEnv & z.ZodRawShape, P>(
  def: ServiceDefinition<S, P>,
  opts: RunServiceOptions = {},
): Promise<void> {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let config: z.output<z.ZodObject<S>>;
  let prepared: P;
  try {
    config = loadConfig(def.env, opts.env ?? process.env);
    prepared = await def.prepare(config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // One line per problem, so an operator fixes them all in one go; secret values are never quoted.
    console.error(`${def.name}: invalid configuration (${err.issues.length} problem(s)); not starting`);
    for (const issue of err.issues) console.error(`${def.name}: ${issue.name}: ${issue.message}`);
    exit(1);
    return;
  }
  const common = config as z.output<z.ZodObject<CommonEnv>>;
  const secrets = [
    ...new Set(
      [...secretsOf(config), ...(def.secrets?.(prepared) ?? [])].filter(
        (s): s is string => typeof s === 'string' && s !== '',
      ),
    ),
  ];
  // One redactor for the logger, the spans and everything else, so secrets added later (a rotated
  // bots file) are scrubbed everywhere.
  const redactor = new SecretRedactor(secrets);
  useTraceRedactor(redactor);
  const logger = createLogger({ service: def.name, level: common.LOG_LEVEL, redactor });

  process.on('uncaughtException', err => {
    logger.fatal({ err }, `${def.name} crashed: uncaught exception`);
    exit(1);
  });
  process.on('unhandledRejection', err => {
    logger.fatal({ err }, `${def.name} crashed: unhandled promise rejection`);
    exit(1);
  });
  for (const warning of def.warnings?.(config, prepared) ?? []) logger.warn(warning);

  let started: StartedService | undefined;
  let stopping = false;
  async function shutdown(signal: NodeJS.Signals): Promise<void> {
    if (stopping) return;
    stopping = true;
    const graceMs = common.SHUTDOWN_GRACE_MS;
    logger.info({ signal, graceMs }, `${def.name} shutting down`);
    // Never hang forever: past the grace period plus a margin, leave with a failure code.
    setTimeout(() => {
      logger.error(`${def.name} shutdown took too long; exiting`);
      exit(1);
    }, graceMs + 5000).unref();
    try {
      await started?.stop();
    } catch (err) {
      logger.error({ err }, `${def.name} did not stop cleanly`);
      exit(1);
      return;
    }
    // Export the spans still buffered before leaving.
    await stopTracing().catch((err: unknown) => logger.warn({ err }, 'could not flush the last spans'));
    logger.info(`${def.name} stopped`);
    exit(0);
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => void shutdown(signal));
  }

  try {
    started = await def.start({ config, prepared, logger, redactor, secrets });
  } catch (err) {
    logger.fatal({ err }, `${def.name} failed to start`);
    exit(1);
    return;
  }
  logger.info(started.details ?? {}, started.message);
}
