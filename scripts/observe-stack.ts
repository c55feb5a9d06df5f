// The local observability stack of `make observe`, with no Docker: Jaeger v1 (trace store and query
// API), the OpenTelemetry Collector built with ocb (otel/collector/base.yaml + local.yaml), Prometheus
// from Debian scraping every ops port and the collector, and `make dev` with tracing on. Binaries
// come from mk/observe.mk (TOOLS_CACHE); ports are free ones unless given.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from '@telegram-receiver/testing';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const HOST = '127.0.0.1';

/** Where the Go-built binaries and Prometheus are (mk/observe.mk passes them). */
export interface ObserveTools {
  otelcol: string;
  jaeger: string;
  prometheus: string;
}

/** The running stack: its URLs, and how to stop it. */
export interface ObserveStack {
  gatewayUrl: string;
  sandboxUrl: string;
  gatewayOpsUrl: string;
  workerOpsUrl: string;
  metricsOpsUrl: string;
  jaegerUrl: string;
  prometheusUrl: string;
  collectorMetricsUrl: string;
  /** The directory of the components' logs and data. */
  dir: string;
  webhookSecret: string;
  stop(): Promise<void>;
}

interface Child {
  name: string;
  proc: ChildProcess;
  log: string;
}

export function toolsFromEnv(env = process.env): ObserveTools {
  const need = (name: string) => {
    const value = env[name];
    if (value === undefined || value === '') {
      throw new Error(`${name} is not set: run this through \`make observe\``);
    }
    return value;
  };
  return { otelcol: need('OTELCOL'), jaeger: need('JAEGER'), prometheus: need('PROMETHEUS') };
}

async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
  await res?.body?.cancel();
  return res?.ok === true;
}

/** Start every component; resolves once each answers its health check. */
export async function startObserveStack(
  tools: ObserveTools,
  log: (line: string) => void = () => undefined,
): Promise<ObserveStack> {
  const dir = await mkdtemp(join(tmpdir(), 'tr-observe-'));
  const children: Child[] = [];
  const names = [
    'jaegerOtlpGrpc',
    'jaegerOtlpHttp',
    'jaegerQuery',
    'jaegerQueryGrpc',
    'jaegerAdmin',
    'jaegerCollectorGrpc',
    'jaegerCollectorHttp',
    'otlpGrpc',
    'otlpHttp',
    'collectorMetrics',
    'prometheus',
    'gateway',
    'gatewayOps',
    'workerOps',
    'metricsOps',
    'sandbox',
  ] as const;
  const port = Object.fromEntries(
    await Promise.all(names.map(async name => [name, await freePort()] as const)),
  ) as Record<(typeof names)[number], number>;
  const webhookSecret = 'observe_webhook_secret_0123';

  function start(name: string, command: string, args: string[], env: Record<string, string> = {}): Child {
    const logPath = join(dir, `${name}.log`);
    const out = createWriteStream(logPath);
    const proc = spawn(command, args, {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout?.pipe(out);
    proc.stderr?.pipe(out);
    const child = { name, proc, log: logPath };
    children.push(child);
    return child;
  }
  async function ready(child: Child, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    await waitFor(
      async () => {
        if (child.proc.exitCode !== null) {
          const tail = (await readFile(child.log, 'utf8').catch(() => '')).split('\n').slice(-20).join('\n');
          throw new Error(`${child.name} exited with ${child.proc.exitCode}:\n${tail}`);
        }
        return await check();
      },
      { timeoutMs, intervalMs: 200, message: `${child.name} to answer` },
    );
    log(`${child.name} is up`);
  }
  async function stop(): Promise<void> {
    for (const { proc } of [...children].reverse()) {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise(resolve => proc.once('exit', resolve));
        proc.kill('SIGTERM');
        await Promise.race([exited, new Promise(resolve => setTimeout(resolve, 10_000))]);
        if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      }
    }
    if (process.env.OBSERVE_KEEP_LOGS === undefined) await rm(dir, { recursive: true, force: true });
  }

  try {
    const jaeger = start('jaeger', tools.jaeger, [
      `--collector.otlp.grpc.host-port=${HOST}:${port.jaegerOtlpGrpc}`,
      `--collector.otlp.http.host-port=${HOST}:${port.jaegerOtlpHttp}`,
      `--collector.grpc-server.host-port=${HOST}:${port.jaegerCollectorGrpc}`,
      `--collector.http-server.host-port=${HOST}:${port.jaegerCollectorHttp}`,
      `--query.http-server.host-port=${HOST}:${port.jaegerQuery}`,
      `--query.grpc-server.host-port=${HOST}:${port.jaegerQueryGrpc}`,
      `--admin.http.host-port=${HOST}:${port.jaegerAdmin}`,
    ]);
    await ready(jaeger, () => httpOk(`http://${HOST}:${port.jaegerAdmin}/`));

    const collector = start(
      'otelcol',
      tools.otelcol,
      ['--config', 'otel/collector/base.yaml', '--config', 'otel/collector/local.yaml'],
      {
        OTELCOL_OTLP_GRPC_PORT: String(port.otlpGrpc),
        OTELCOL_OTLP_HTTP_PORT: String(port.otlpHttp),
        JAEGER_OTLP_GRPC_PORT: String(port.jaegerOtlpGrpc),
        OTELCOL_PROMETHEUS_PORT: String(port.collectorMetrics),
      },
    );
    await ready(collector, () => httpOk(`http://${HOST}:${port.collectorMetrics}/metrics`));

    const targets = (ports: number[]) => ports.map(p => `'${HOST}:${p}'`).join(', ');
    await writeFile(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'scrape_configs:',
        '  - job_name: telegram-receiver',
        `    static_configs: [{ targets: [${targets([port.gatewayOps, port.workerOps, port.metricsOps])}] }]`,
        '  - job_name: otelcol-spanmetrics',
        `    static_configs: [{ targets: [${targets([port.collectorMetrics])}] }]`,
        '',
      ].join('\n'),
    );
    const prom = start('prometheus', tools.prometheus, [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'prometheus-data')}`,
      `--web.listen-address=${HOST}:${port.prometheus}`,
      '--enable-feature=exemplar-storage',
    ]);
    await ready(prom, () => httpOk(`http://${HOST}:${port.prometheus}/-/ready`));

    const dev = start('dev', process.execPath, ['scripts/dev.ts'], {
      PORT: String(port.gateway),
      GATEWAY_OPS_PORT: String(port.gatewayOps),
      WORKER_OPS_PORT: String(port.workerOps),
      METRICS_OPS_PORT: String(port.metricsOps),
      SANDBOX_PORT: String(port.sandbox),
      TELEGRAM_WEBHOOK_SECRET: webhookSecret,
      LOG_LEVEL: 'warn',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://${HOST}:${port.otlpHttp}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_BSP_SCHEDULE_DELAY: '500',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=local',
    });
    await ready(
      dev,
      async () =>
        (await httpOk(`http://${HOST}:${port.gatewayOps}/ready`)) &&
        (await httpOk(`http://${HOST}:${port.workerOps}/ready`)) &&
        httpOk(`http://${HOST}:${port.metricsOps}/ready`),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    gatewayUrl: `http://${HOST}:${port.gateway}`,
    sandboxUrl: `http://${HOST}:${port.sandbox}`,
    gatewayOpsUrl: `http://${HOST}:${port.gatewayOps}`,
    workerOpsUrl: `http://${HOST}:${port.workerOps}`,
    metricsOpsUrl: `http://${HOST}:${port.metricsOps}`,
    jaegerUrl: `http://${HOST}:${port.jaegerQuery}`,
    prometheusUrl: `http://${HOST}:${port.prometheus}`,
    collectorMetricsUrl: `http://${HOST}:${port.collectorMetrics}`,
    dir,
    webhookSecret,
    stop,
  };
}
