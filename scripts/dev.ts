// `make dev`: the whole stack on one machine with embedded defaults — a private redis-server (unless
// REDIS_URL is set), the sandbox stand-ins for Telegram / cursor-runner / ElevenLabs, the gateway, the
// worker and the metrics service — then prints the URLs and a curl that posts a sample update. Explicit
// env vars override every default (secrets, REDIS_URL, ports). Ctrl-C stops everything.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RedisServer, waitFor } from '@telegram-receiver/testing';
import { DEV_GATEWAY_PORT, DEV_HOST, DEV_SANDBOX_PORT, DEV_WEBHOOK_SECRET } from './dev-defaults.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
const ports = {
  gateway: env.PORT ?? DEV_GATEWAY_PORT,
  gatewayOps: env.GATEWAY_OPS_PORT ?? '9101',
  gatewayAdmin: env.GATEWAY_ADMIN_PORT ?? '9201',
  workerOps: env.WORKER_OPS_PORT ?? '9102',
  metricsOps: env.METRICS_OPS_PORT ?? '9100',
  sandbox: env.SANDBOX_PORT ?? DEV_SANDBOX_PORT,
};
const host = DEV_HOST;
const sandboxUrl = `http://${host}:${ports.sandbox}`;
const gatewayUrl = `http://${host}:${ports.gateway}`;
const gatewayOpsUrl = `http://${host}:${ports.gatewayOps}`;
const gatewayAdminUrl = `http://${host}:${ports.gatewayAdmin}`;
const workerOpsUrl = `http://${host}:${ports.workerOps}`;
const metricsOpsUrl = `http://${host}:${ports.metricsOps}`;
const shared = {
  LOG_LEVEL: env.LOG_LEVEL ?? 'info',
  NODE_ENV: env.NODE_ENV ?? 'development',
  QUEUE_PREFIX: env.QUEUE_PREFIX ?? 'tr',
  TELEGRAM_BOT_TOKEN: env.TELEGRAM_BOT_TOKEN ?? '100000001:dev-bot-token-aaaaaaaaaaaaaaaaaaaaaaaa',
  TELEGRAM_WEBHOOK_SECRET: env.TELEGRAM_WEBHOOK_SECRET ?? DEV_WEBHOOK_SECRET,
  WEBHOOK_SECRET: env.WEBHOOK_SECRET ?? 'dev-callback-secret',
  BOTS_FILE: env.BOTS_FILE,
  TELEGRAM_API_URL: env.TELEGRAM_API_URL ?? sandboxUrl,
  TELEGRAM_WEBHOOK_BASE_URL: env.TELEGRAM_WEBHOOK_BASE_URL ?? gatewayUrl,
  CURSOR_RUNNER_URL: env.CURSOR_RUNNER_URL ?? sandboxUrl,
  ELEVENLABS_API_URL: env.ELEVENLABS_API_URL ?? sandboxUrl,
  ELEVENLABS_API_KEY: env.ELEVENLABS_API_KEY ?? 'dev-elevenlabs-key',
};

const TRACING_BOOTSTRAP = '@telegram-receiver/core/register';
/** The standard OpenTelemetry variables, passed through to the services. */
const otelEnv = Object.fromEntries(Object.entries(env).filter(([name]) => name.startsWith('OTEL_')));

const children: { name: string; proc: ChildProcess }[] = [];
let redis: RedisServer | undefined;
let stopping = false;

/**
 * Start `node <entry>` with its output prefixed, and resolve once `healthUrl` answers 200 (polled: a
 * log line would not do, LOG_LEVEL may hide it).
 */
async function startService(
  name: string,
  entry: string,
  healthUrl: string,
  extraEnv: Record<string, string | undefined>,
): Promise<void> {
  // Our services load the tracing bootstrap first; it exports only when OTEL_EXPORTER_OTLP_ENDPOINT
  // is set (`make observe` sets it). The sandbox stands in for outside services and is not traced.
  const traced = entry.startsWith('services/');
  const proc = spawn(
    process.execPath,
    [...(traced ? ['--import', TRACING_BOOTSTRAP] : []), join(root, entry)],
    {
      env: {
        PATH: env.PATH,
        HOME: env.HOME,
        ...shared,
        ...(traced
          ? { ...otelEnv, OTEL_SERVICE_NAME: env.OTEL_SERVICE_NAME ?? `telegram-receiver-${name}` }
          : {}),
        ...extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push({ name, proc });
  const onLine = (stream: NodeJS.WritableStream) => (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (line.length > 0) stream.write(`[${name}] ${line}\n`);
    }
  };
  proc.stdout?.on('data', onLine(process.stdout));
  proc.stderr?.on('data', onLine(process.stderr));
  proc.once('exit', code => {
    if (!stopping) {
      console.error(`${name} exited with ${code}`);
      void shutdown(1);
    }
  });
  await waitFor(
    async () => {
      if (proc.exitCode !== null) throw new Error(`${name} exited with ${proc.exitCode}`);
      const res = await fetch(healthUrl).catch(() => undefined);
      await res?.body?.cancel();
      return res?.ok === true;
    },
    { timeoutMs: 30_000, intervalMs: 100, message: `${name} did not answer ${healthUrl}` },
  );
}

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const { proc } of [...children].reverse()) {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      await new Promise(resolve => proc.once('exit', resolve));
    }
  }
  await redis?.close();
  process.exit(code);
}

process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

try {
  let redisUrl = env.REDIS_URL;
  if (redisUrl === undefined || redisUrl === '') {
    redis = await RedisServer.start({ appendOnly: true, appendFsync: 'everysec' });
    redisUrl = redis.url;
  }
  await startService('sandbox', 'packages/sandbox/src/main.ts', `${sandboxUrl}/sandbox/health`, {
    SANDBOX_PORT: ports.sandbox,
    SANDBOX_HOST: host,
    SANDBOX_CALLBACK_URL: `${gatewayUrl}/cursor-runner/callback`,
  });
  await startService('gateway', 'services/gateway/src/main.ts', `${gatewayOpsUrl}/health`, {
    REDIS_URL: redisUrl,
    HOST: host,
    PORT: ports.gateway,
    OPS_PORT: ports.gatewayOps,
    ADMIN_HOST: host,
    ADMIN_PORT: ports.gatewayAdmin,
  });
  const workerEntry = 'services/worker/src/main.ts';
  if (existsSync(join(root, workerEntry))) {
    await startService('worker', workerEntry, `${workerOpsUrl}/health`, {
      REDIS_URL: redisUrl,
      OPS_PORT: ports.workerOps,
    });
  }
  await startService('metrics', 'services/metrics/src/main.ts', `${metricsOpsUrl}/health`, {
    REDIS_URL: redisUrl,
    OPS_PORT: ports.metricsOps,
  });
  // The update_id comes from the clock so every paste is a new update (a repeated id is deduplicated).
  const message = JSON.stringify({
    message_id: 1,
    date: 1700000000,
    from: { id: 4242, is_bot: false, first_name: 'Dev' },
    chat: { id: 4242, type: 'private', first_name: 'Dev' },
    text: 'Hello from make dev',
  });
  const curl =
    `curl -sS -X POST ${gatewayUrl}/telegram/webhook -H 'Content-Type: application/json' ` +
    `-H 'X-Telegram-Bot-Api-Secret-Token: ${shared.TELEGRAM_WEBHOOK_SECRET}' ` +
    `-d '{"update_id":'$(date +%s%N | cut -c1-13)',"message":${message}}'`;
  process.stdout.write(
    [
      '',
      'telegram-receiver dev stack is up:',
      `  gateway   ${gatewayUrl}  (ops ${gatewayOpsUrl}/metrics, admin ${gatewayAdminUrl}/admin/settings)`,
      `  worker    ops ${workerOpsUrl}/metrics`,
      `  metrics   ${metricsOpsUrl}/queues  (Prometheus: ${metricsOpsUrl}/metrics)`,
      `  sandbox   ${sandboxUrl}  (calls: ${sandboxUrl}/sandbox/calls)`,
      `  redis     ${redisUrl}${redis ? ' (private redis-server)' : ''}`,
      '',
      'Post a sample update (prints OK when it is durable in Redis):',
      `  ${curl}`,
      '',
      `See the job: redis-cli -u ${redisUrl} --scan --pattern '${shared.QUEUE_PREFIX}:updates:*'`,
      `See what the bot answered: curl -sS '${sandboxUrl}/sandbox/calls?service=telegram&method=sendMessage'`,
      'Ctrl-C stops everything.',
      '',
      'dev stack ready',
      '',
    ].join('\n'),
  );
} catch (err) {
  console.error(`make dev failed: ${err instanceof Error ? err.message : String(err)}`);
  await shutdown(1);
}
