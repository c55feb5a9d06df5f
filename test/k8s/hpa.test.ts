// The chart's worker HPA, installed by helm, running in the real kube-controller-manager, scaling on our
// metrics service's signal. The metrics service runs as a local process against a real Redis and is
// registered through the chart's APIService, reached from the API server through the test-only
// ExternalName Service to localhost (`metrics.hostProcess`). Work comes in through a real gateway
// process; a real worker process drains it. Each step's time, from the queue change to the replica
// change, is printed for docs/operations.md.
import { request as httpsRequest } from 'node:https';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  freePort,
  randomName,
  RedisServer,
  startServiceProcess,
  waitFor,
  type ServiceProcess,
} from '@telegram-receiver/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertFactory, type Pem } from '../../services/metrics/test/tls-fixtures.ts';
import { CHART_DIR, helm, K8S_STATE, kubectl, kubectlJson } from '../lib/kube.ts';

const root = new URL('../../', import.meta.url).pathname;
const NS = 'hpa';
const RELEASE = 'tr';
const WORKER = `${RELEASE}-telegram-receiver-worker`;
const HOST_SERVICE = `${RELEASE}-telegram-receiver-metrics-host`;
const METRIC_PATH = `/apis/external.metrics.k8s.io/v1beta1/namespaces/${NS}/telegram_receiver_queue_pending_lanes?labelSelector=queue%3Dupdates`;
const LANES_PER_REPLICA = 10;
const BOT_TOKEN = '100000001:hpa-test-token-aaaaaaaaaaaaaaaaaaaa';
const TELEGRAM_SECRET = 'hpa-test-webhook-secret';
const CALLBACK_SECRET = 'hpa-test-callback-secret';

const certs = new CertFactory();
let redis: RedisServer;
const processes: ServiceProcess[] = [];
let prefix: string;
let gatewayUrl: string;
let servingCA: Pem;
let apiPort: number;
/** Queue change → replica change, ms, per step (printed for docs/operations.md). */
const timings: Record<string, number | string> = {};

async function replicas(): Promise<number> {
  return (await kubectlJson<{ spec: { replicas: number } }>(['get', 'deployment', WORKER, '-n', NS])).spec
    .replicas;
}

interface HpaStatus {
  desiredReplicas?: number;
  currentMetrics?: { external?: { current?: { averageValue?: string } } }[];
}
async function hpaStatus(): Promise<HpaStatus> {
  return (await kubectlJson<{ status: HpaStatus }>(['get', 'hpa', WORKER, '-n', NS])).status;
}

/** Pending lanes as the HPA controller reads them: through the aggregator, with the front-proxy cert. */
async function pendingLanesViaApiServer(): Promise<number> {
  const list = JSON.parse(await kubectl(['get', '--raw', METRIC_PATH])) as { items: { value: string }[] };
  return list.items.reduce((sum, i) => sum + Number(i.value), 0);
}

async function postUpdates(chats: number[]): Promise<void> {
  let next = 0;
  const base = Date.now() % 1_000_000_000;
  const send = async () => {
    while (next < chats.length) {
      const i = next++;
      const chat = chats[i]!;
      const res = await fetch(`${gatewayUrl}/telegram/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': TELEGRAM_SECRET },
        body: JSON.stringify({
          update_id: base * 10 + i,
          message: {
            message_id: i + 1,
            date: Math.floor(Date.now() / 1000),
            from: { id: chat, is_bot: false, first_name: 'Hpa' },
            chat: { id: chat, type: 'private', first_name: 'Hpa' },
            text: `scale test #${i}`,
          },
        }),
      });
      expect(res.status).toBe(200);
      await res.body?.cancel();
    }
  };
  await Promise.all(Array.from({ length: 16 }, send));
}

/** Wait until the Deployment has `want` replicas; returns the ms it took from `since`. */
async function replicasReach(want: number, since: number, timeoutMs = 60_000): Promise<number> {
  await waitFor(async () => (await replicas()) === want, {
    timeoutMs,
    intervalMs: 100,
    message: `the worker Deployment did not reach ${want} replicas`,
  });
  return Date.now() - since;
}

/** An HTTPS GET to the metrics process itself, bypassing the API server (no front-proxy cert). */
function directGet(headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: apiPort,
        path: METRIC_PATH,
        ca: servingCA.cert,
        servername: `${HOST_SERVICE}.${NS}.svc`,
        headers,
      },
      res => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  redis = await RedisServer.start();
  prefix = randomName('hpa');
  servingCA = certs.ca('metrics-host-ca');
  const serving = certs.leaf(servingCA, HOST_SERVICE, 'server', [
    `DNS:${HOST_SERVICE}.${NS}.svc`,
    'DNS:localhost',
    'IP:127.0.0.1',
  ]);
  writeFileSync(join(certs.dir, 'serving.crt'), serving.cert);
  writeFileSync(join(certs.dir, 'serving.key'), serving.key);
  apiPort = await freePort();

  // The chart, with its test-only host wiring; the HPA scales fast here (sync 5 s, no stabilization).
  await helm(['install', RELEASE, CHART_DIR, '-n', NS, '--create-namespace', '--no-hooks', '-f', '-'], {
    config: { queuePrefix: prefix },
    metrics: { hostProcess: { enabled: true, apiPort, caBundle: servingCA.cert } },
    worker: {
      shutdownGraceMs: 1000,
      autoscaling: {
        minReplicas: 1,
        maxReplicas: 10,
        lanesPerReplica: LANES_PER_REPLICA,
        scaleDownStabilizationSeconds: 0,
      },
    },
    tests: { enabled: false },
  });

  // The metrics process authenticates as the chart's ServiceAccount: the chart's RBAC must suffice.
  const token = (
    await kubectl(['create', 'token', `${RELEASE}-telegram-receiver-metrics`, '-n', NS, '--duration=1h'])
  ).trim();
  const kubeconfig = join(certs.dir, 'metrics.kubeconfig');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'local',
          cluster: {
            server: 'https://127.0.0.1:6443',
            'certificate-authority': join(K8S_STATE, 'pki/ca.crt'),
          },
        },
      ],
      users: [{ name: 'metrics', user: { token } }],
      contexts: [{ name: 'local', context: { cluster: 'local', user: 'metrics', namespace: NS } }],
      'current-context': 'local',
    }),
  );
  const [opsPort, gatewayPort, gatewayOps, gatewayAdmin] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  processes.push(
    await startServiceProcess({
      entry: join(root, 'services/metrics/src/main.ts'),
      env: {
        REDIS_URL: redis.url,
        QUEUE_PREFIX: prefix,
        OPS_PORT: String(opsPort),
        METRICS_API_ENABLED: 'true',
        METRICS_API_PORT: String(apiPort),
        METRICS_TLS_CERT_FILE: join(certs.dir, 'serving.crt'),
        METRICS_TLS_KEY_FILE: join(certs.dir, 'serving.key'),
        METRICS_INTERVAL_MS: '500',
        KUBECONFIG: kubeconfig,
        LOG_LEVEL: 'info',
      },
      readyLine: 'metrics listening',
    }),
  );
  gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  processes.push(
    await startServiceProcess({
      entry: join(root, 'services/gateway/src/main.ts'),
      env: {
        REDIS_URL: redis.url,
        QUEUE_PREFIX: prefix,
        HOST: '127.0.0.1',
        PORT: String(gatewayPort),
        OPS_PORT: String(gatewayOps),
        ADMIN_PORT: String(gatewayAdmin),
        TELEGRAM_BOT_TOKEN: BOT_TOKEN,
        TELEGRAM_WEBHOOK_SECRET: TELEGRAM_SECRET,
        WEBHOOK_SECRET: CALLBACK_SECRET,
        LOG_LEVEL: 'info',
      },
      readyLine: 'gateway listening',
    }),
  );
  // The aggregator reaches the host process, and the HPA has a first reading (0 lanes → 1 replica).
  await waitFor(
    async () => {
      const api = await kubectlJson<{ status?: { conditions?: { type: string; status: string }[] } }>([
        'get',
        'apiservice',
        'v1beta1.external.metrics.k8s.io',
      ]);
      return api.status?.conditions?.some(c => c.type === 'Available' && c.status === 'True');
    },
    { timeoutMs: 30_000, intervalMs: 200, message: 'the APIService did not become Available' },
  );
  await waitFor(
    async () => (await hpaStatus()).currentMetrics?.[0]?.external?.current?.averageValue !== undefined,
    {
      timeoutMs: 60_000,
      intervalMs: 200,
      message: 'the HPA never read the external metric',
    },
  );
}, 180_000);

afterAll(async () => {
  for (const p of processes.reverse()) await p.stop();
  await helm(['uninstall', RELEASE, '-n', NS, '--wait', '--timeout', '60s']).catch(() => undefined);
  await kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--wait=true', '--timeout=60s']);
  await redis?.close();
  certs.cleanup();
  if (Object.keys(timings).length > 0) console.log(`HPA timings (ms): ${JSON.stringify(timings)}`);
});

describe('the External Metrics API behind the aggregator', () => {
  it('should answer the API server, which calls it with its front-proxy client certificate', async () => {
    expect(await pendingLanesViaApiServer()).toBe(0);
  });

  it('should refuse a request without the front-proxy client certificate, even with X-Remote-User', async () => {
    expect(await directGet({})).toBe(401);
    expect(
      await directGet({
        'X-Remote-User': 'system:kube-controller-manager',
        'X-Remote-Group': 'system:masters',
      }),
    ).toBe(401);
  });
});

describe('the worker HPA on pending lanes', () => {
  it('should not rise for 1,000 updates of one chat', async () => {
    expect(await replicas()).toBe(1);
    await postUpdates(Array.from({ length: 1000 }, () => 4_200_000));
    await waitFor(async () => (await pendingLanesViaApiServer()) === 1, {
      timeoutMs: 20_000,
      intervalMs: 200,
    });
    // The HPA has read the new value (1 lane) and decided: still one worker.
    await waitFor(
      async () => (await hpaStatus()).currentMetrics?.[0]?.external?.current?.averageValue === '1',
      {
        timeoutMs: 30_000,
        intervalMs: 200,
        message: 'the HPA did not read 1 pending lane',
      },
    );
    expect((await hpaStatus()).desiredReplicas).toBe(1);
    expect(await replicas()).toBe(1);
  });

  it('should rise to ceil(pending lanes ÷ lanesPerReplica) when work comes in for many chats', async () => {
    // 49 more chats: 50 pending lanes → ceil(50 / 10) = 5 workers.
    await postUpdates(Array.from({ length: 49 }, (_, i) => 5_000_000 + i));
    const since = Date.now();
    await waitFor(async () => (await pendingLanesViaApiServer()) === 50, {
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    timings.signalVisibleMs = Date.now() - since;
    timings.scaleUpMs = await replicasReach(5, since);
    expect((await hpaStatus()).desiredReplicas).toBe(5);
  });

  it('should come back down when the queue drains, removing at most half the workers per grace period', async () => {
    // The controller counts replicas added within a policy's period as not yet there: let the
    // scale-up age past the period (the grace period, 6 s here) so the scale-down policy is what limits.
    const periodMs = 6000;
    await waitFor(
      async () => {
        const status = await kubectlJson<{ status: { lastScaleTime?: string } }>([
          'get',
          'hpa',
          WORKER,
          '-n',
          NS,
        ]);
        return Date.now() - Date.parse(status.status.lastScaleTime ?? '') > periodMs + 1000;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const [sandboxPort, workerOps] = await Promise.all([freePort(), freePort()]);
    const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
    processes.push(
      await startServiceProcess({
        entry: join(root, 'packages/sandbox/src/main.ts'),
        env: {
          SANDBOX_PORT: String(sandboxPort),
          // cursor-runner acknowledges at once and calls back much later: this drains the updates queue only.
          SANDBOX_CURSOR_DELAY_MS: '600000',
          SANDBOX_CALLBACK_URL: `${gatewayUrl}/cursor-runner/callback`,
        },
        readyLine: 'listening',
      }),
    );
    processes.push(
      await startServiceProcess({
        entry: join(root, 'services/worker/src/main.ts'),
        env: {
          REDIS_URL: redis.url,
          QUEUE_PREFIX: prefix,
          OPS_PORT: String(workerOps),
          TELEGRAM_BOT_TOKEN: BOT_TOKEN,
          TELEGRAM_WEBHOOK_SECRET: TELEGRAM_SECRET,
          WEBHOOK_SECRET: CALLBACK_SECRET,
          TELEGRAM_API_URL: sandboxUrl,
          CURSOR_RUNNER_URL: sandboxUrl,
          TELEGRAM_WEBHOOK_BASE_URL: gatewayUrl,
          LOG_LEVEL: 'info',
        },
        readyLine: 'worker listening',
      }),
    );
    // The 49 one-update chats drain at once, the chat with 1,000 updates takes a while: the signal
    // falls to 1 lane (one worker's worth) long before it reaches 0.
    const started = Date.now();
    let belowOneWorkerAt: number | undefined;
    const steps: { atMs: number; replicas: number }[] = [];
    await waitFor(
      async () => {
        const [lanes, count] = await Promise.all([pendingLanesViaApiServer(), replicas()]);
        if (belowOneWorkerAt === undefined && lanes <= LANES_PER_REPLICA) belowOneWorkerAt = Date.now();
        if (steps.at(-1)?.replicas !== count) steps.push({ atMs: Date.now() - started, replicas: count });
        return count === 1;
      },
      { timeoutMs: 120_000, intervalMs: 100, message: 'the workers did not come back down to 1' },
    );
    timings.drainStartToOneReplicaMs = Date.now() - started;
    timings.belowOneWorkerToOneReplicaMs = Date.now() - (belowOneWorkerAt ?? started);
    timings.scaleDownSteps = steps.map(s => `${s.replicas}@${s.atMs}`).join(' ');
    await waitFor(async () => (await pendingLanesViaApiServer()) === 0, {
      timeoutMs: 120_000,
      intervalMs: 200,
      message: 'the worker did not drain the updates queue',
    });
    expect(await replicas()).toBe(1);
    expect((await hpaStatus()).desiredReplicas).toBe(1);
    // 5 → 2 (int(5 × 50 %) left), then 1 once that removal is older than the period.
    expect(steps.map(s => s.replicas)).toEqual([5, 2, 1]);
    expect(steps[2]!.atMs - steps[1]!.atMs).toBeGreaterThanOrEqual(periodMs - 1000);
  });
});
