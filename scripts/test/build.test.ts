// The production build as the image runs it (`make build`, then `node --conditions=production --import
// @telegram-receiver/core/register services/<name>/dist/main.js`): each service starts from its bundle,
// and loads only what it uses (issue 11). A load hook, imported first, records every module Node
// loads (ESM and CommonJS alike) and writes the list when the process exits.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, OtlpReceiver, RedisServer, startServiceProcess } from '@telegram-receiver/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_TARGETS, buildAll, productionNodeArgs, type ServiceName } from '../build.ts';

const repo = fileURLToPath(new URL('../../', import.meta.url));

const RECORD_LOADED_MODULES = `data:text/javascript,${encodeURIComponent(`
import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';
const loaded = new Set();
registerHooks({ load(url, context, next) { loaded.add(url); return next(url, context); } });
process.on('exit', () => writeFileSync(process.env.LOADED_MODULES_FILE, JSON.stringify([...loaded])));
`)}`;

/** What one started-and-stopped service loaded. */
interface Loaded {
  /** npm packages (from node_modules), by name. */
  packages: Set<string>;
  /** Files of our own workspaces, relative to the repo. */
  ours: string[];
}

function summarise(urls: string[]): Loaded {
  const packages = new Set<string>();
  const ours: string[] = [];
  for (const url of urls.filter(u => u.startsWith('file:'))) {
    const path = fileURLToPath(url);
    const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
    if (pkg) packages.add(pkg[1]!);
    else if (path.startsWith(repo)) ours.push(path.slice(repo.length));
  }
  return { packages, ours };
}

describe('buildAll() and the built services', () => {
  let redis: RedisServer;
  let otlp: OtlpReceiver;
  let dir: string;
  const loaded: Record<string, Loaded> = {};

  /** Start a built service until it logs `readyLine`, stop it, and keep what it loaded. */
  async function run(
    name: string,
    serviceName: ServiceName,
    entry: string,
    readyLine: string,
    env: Record<string, string>,
    exercise?: (env: Record<string, string>) => Promise<void>,
  ) {
    const file = join(dir, `${name}.json`);

    const service = await startServiceProcess({
      entry,
      // As the chart starts it (productionNodeArgs), with the recorder imported first.
      nodeArgs: ['--import', RECORD_LOADED_MODULES, ...productionNodeArgs(serviceName)],
      env: {
        NODE_ENV: 'production',
        LOG_LEVEL: 'info',
        REDIS_URL: redis.url,
        TELEGRAM_BOT_TOKEN: '123456:build-test-token-aaaaaaaaaaaaaaaa',
        TELEGRAM_WEBHOOK_SECRET: 'build-test-webhook-secret',
        // Nothing listens there: the gateway's webhook-info poll fails and retries, which is fine.
        TELEGRAM_API_URL: 'http://127.0.0.1:9',
        LOADED_MODULES_FILE: file,
        ...env,
      },
      readyLine,
    });
    await exercise?.(env);
    expect(await service.stop()).toBe(0);
    loaded[name] = summarise(JSON.parse(readFileSync(file, 'utf8')) as string[]);
  }

  const ports = async () => ({
    PORT: String(await freePort()),
    OPS_PORT: String(await freePort()),
    ADMIN_PORT: String(await freePort()),
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'build-test-'));
    [redis, otlp] = await Promise.all([
      RedisServer.start({ appendOnly: false }),
      OtlpReceiver.start(),
      buildAll(),
    ]);
    await Promise.all([
      run('gateway', 'gateway', 'services/gateway/dist/main.js', 'gateway listening', await ports()),
      run('worker', 'worker', 'services/worker/dist/main.js', 'worker listening', await ports()),
      run('metrics', 'metrics', 'services/metrics/dist/main.js', 'metrics listening', await ports()),
      run(
        'gateway-traced',
        'gateway',
        'services/gateway/dist/main.js',
        'gateway listening',
        {
          ...(await ports()),
          OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        },
        // A webhook: the service's bundle must see the SDK its bootstrap started (a separate bundle).
        async env => {
          const res = await fetch(`http://127.0.0.1:${env.PORT}/telegram/webhook`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'x-telegram-bot-api-secret-token': 'build-test-webhook-secret',
            },
            body: JSON.stringify({
              update_id: 1,
              message: { message_id: 1, date: 1, chat: { id: 1, type: 'private' }, text: 'hi' },
            }),
          });
          expect(res.status).toBe(200);
          await res.text();
        },
      ),
    ]);
  });
  afterAll(async () => {
    await Promise.all([redis?.close(), otlp?.close()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('should run every service from its bundle, never a .ts source (no type stripping)', () => {
    for (const name of ['gateway', 'worker', 'metrics', 'gateway-traced']) {
      const ours = loaded[name]!.ours;
      expect(ours.filter(path => !path.includes('/dist/'))).toEqual([]);
      expect(ours).toContain(`services/${name.replace('-traced', '')}/dist/main.js`);
    }
    expect(loaded['gateway-traced']!.ours).toContain('packages/core/dist/register.js');
  });

  it('should write a source map beside each bundle (read with NODE_OPTIONS=--enable-source-maps)', () => {
    for (const target of BUILD_TARGETS) {
      const map = JSON.parse(readFileSync(`${repo}${target.outdir}/${target.entryName}.js.map`, 'utf8')) as {
        sources: string[];
      };
      expect(map.sources.some(source => source.endsWith('.ts'))).toBe(true);
    }
  });

  it('should not load the tracing SDK when tracing is off, and load it when an endpoint is set', () => {
    for (const name of ['gateway', 'worker', 'metrics']) {
      const otel = [...loaded[name]!.packages].filter(p => p.startsWith('@opentelemetry/'));
      // The API alone (a no-op tracer) stays: every span call goes through it.
      expect(otel).toEqual(['@opentelemetry/api']);
    }
    expect(loaded['gateway-traced']!.packages).toContain('@opentelemetry/sdk-node');
    // …and the service's own bundle traces with it: its webhook span was exported at shutdown.
    expect(otlp.spans.map(span => span.name)).toContain('POST /telegram/webhook');
  });

  it('should keep Koa out of the worker and the metrics service (the External Metrics API is off)', () => {
    expect(loaded.gateway!.packages).toContain('koa');
    for (const name of ['worker', 'metrics']) {
      expect(loaded[name]!.packages).not.toContain('koa');
      expect(loaded[name]!.packages).not.toContain('@koa/router');
    }
    expect(loaded.metrics!.packages).not.toContain('@kubernetes/client-node');
    expect(loaded.metrics!.packages).not.toContain('bullmq');
    expect(loaded.metrics!.packages).not.toContain('undici');
  });

  it('should not load BullMQ in the gateway: it writes and reads jobs with its own scripts', () => {
    // The dead-letter API loads it on its first call (services/gateway/test/dead-letters.redis.test.ts).
    expect(loaded.gateway!.packages).not.toContain('bullmq');
    expect(loaded.worker!.packages).toContain('bullmq');
  });

  it("should leave the worker's clients out of the gateway's bundle", () => {
    const bundle = readFileSync(`${repo}services/gateway/dist/main.js`, 'utf8');
    const worker = readFileSync(`${repo}services/worker/dist/main.js`, 'utf8');
    for (const name of ['ElevenLabsClient', 'CursorRunnerClient', 'SendPacer']) {
      expect(bundle).not.toMatch(new RegExp(`\\b${name}\\b`));
      // …while the worker's has them: the check would see them.
      expect(worker).toMatch(new RegExp(`\\b${name} = class\\b`));
    }
  });
});
