// `helm install`, `upgrade` and `uninstall` of every ci/*-values.yaml into a real API server and
// controller manager (`make k8s-e2e` starts them). No kubelet runs: Pods stay Pending, so this checks
// objects, admission, RBAC and the controllers, never a Pod's outcome.
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { waitFor } from '@telegram-receiver/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseObjects, type K8sObject } from '../lib/helm.ts';
import { CHART_DIR, helm, kubectl, kubectlJson } from '../lib/kube.ts';
import { upstreamCrdPath, UPSTREAM_CRDS } from '../lib/tools.ts';

const CI_FILES = readdirSync(join(CHART_DIR, 'ci'))
  .filter(f => f.endsWith('-values.yaml'))
  .sort();
const RELEASE = 'tr';
const INSTANCE = `app.kubernetes.io/instance=${RELEASE}`;

/** Every listable resource type, namespaced or not (for "nothing left behind"). */
async function resourceTypes(namespaced: boolean): Promise<string[]> {
  const out = await kubectl([
    'api-resources',
    '--verbs=list,delete',
    `--namespaced=${namespaced}`,
    '-o',
    'name',
  ]);
  // Events are about objects, not of them; they expire on their own.
  return out.split('\n').filter(t => t !== '' && !t.startsWith('events'));
}

async function leftovers(namespace: string): Promise<string[]> {
  const [ns, cluster] = await Promise.all([resourceTypes(true), resourceTypes(false)]);
  const found = await Promise.all([
    kubectl(['get', ns.join(','), '-n', namespace, '-l', INSTANCE, '-o', 'name', '--ignore-not-found']),
    kubectl(['get', ns.join(','), '-n', 'kube-system', '-l', INSTANCE, '-o', 'name', '--ignore-not-found']),
    kubectl(['get', cluster.join(','), '-l', INSTANCE, '-o', 'name', '--ignore-not-found']),
  ]);
  return found.flatMap(f => f.split('\n')).filter(l => l !== '');
}

/** The live object of a rendered one. */
async function live(object: K8sObject, namespace: string): Promise<K8sObject> {
  const ns = object.metadata.namespace ?? namespace;
  const type =
    `${object.kind}.${object.apiVersion.includes('/') ? object.apiVersion.split('/')[0] : ''}`.replace(
      /\.$/,
      '',
    );
  return await kubectlJson<K8sObject>(['get', type, object.metadata.name, '-n', ns]);
}

/** What the API server keeps of a rendered object: the rendered fields, besides defaults it adds. */
function asRendered(object: K8sObject): Record<string, unknown> {
  const { metadata, status: _status, ...rest } = object;
  return { ...rest, metadata: { name: metadata.name, labels: metadata.labels ?? {} } };
}

beforeAll(async () => {
  // The upstream CRDs, so the chart's custom resources meet their real schemas server-side.
  for (const kind of Object.keys(UPSTREAM_CRDS) as (keyof typeof UPSTREAM_CRDS)[]) {
    await kubectl(['apply', '--server-side', '-f', upstreamCrdPath(kind)]);
  }
  await kubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
});

describe.each(CI_FILES)('helm install -f ci/%s', file => {
  const namespace = `ci-${basename(file, '-values.yaml')}`;
  const valuesFile = join(CHART_DIR, 'ci', file);
  // No --wait: without a kubelet no Pod ever becomes Ready. No hooks here: the hook Job and the test
  // pods never finish without a kubelet either; test/k8s/hooks.test.ts checks what they create.
  const common = [RELEASE, CHART_DIR, '-n', namespace, '-f', valuesFile, '--no-hooks', '--timeout', '60s'];

  afterAll(async () => {
    await kubectl(['delete', 'namespace', namespace, '--ignore-not-found', '--wait=true', '--timeout=60s']);
  });

  it('should create every rendered object as rendered, and the controllers should act on them', async () => {
    await helm(['install', ...common, '--create-namespace']);
    const manifest = parseObjects(await helm(['get', 'manifest', RELEASE, '-n', namespace]));
    expect(manifest.length).toBeGreaterThan(10);
    for (const object of manifest) {
      const got = await live(object, namespace);
      expect(got, `${object.kind}/${object.metadata.name}`).toMatchObject(asRendered(object));
    }
    // The Deployment controller made ReplicaSets (and they made Pods, which stay Pending).
    await waitFor(
      async () =>
        (await kubectlJson<{ items: unknown[] }>(['get', 'replicasets', '-n', namespace, '-l', INSTANCE]))
          .items.length > 0,
      { timeoutMs: 30_000, message: 'no ReplicaSet was created' },
    );
  });

  it('should upgrade in place, keeping the generated secrets and certificate', async () => {
    const secretsBefore = await kubectl([
      'get',
      'secrets',
      '-n',
      namespace,
      '-l',
      INSTANCE,
      '-o',
      'jsonpath={range .items[*]}{.metadata.name}={.data}{"\\n"}{end}',
    ]);
    await helm(['upgrade', ...common, '-f', '-'], { worker: { updatesConcurrency: 16 } });
    const worker = await kubectlJson<{
      spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } };
    }>(['get', 'deployment', `${RELEASE}-telegram-receiver-worker`, '-n', namespace]);
    const env = Object.fromEntries(worker.spec.template.spec.containers[0]!.env.map(e => [e.name, e.value]));
    expect(env.UPDATES_CONCURRENCY).toBe('16');
    const secretsAfter = await kubectl([
      'get',
      'secrets',
      '-n',
      namespace,
      '-l',
      INSTANCE,
      '-o',
      'jsonpath={range .items[*]}{.metadata.name}={.data}{"\\n"}{end}',
    ]);
    expect(secretsAfter).toBe(secretsBefore);
  });

  it('should leave nothing behind after helm uninstall', async () => {
    // The same query sees the release before (so an empty answer later means something).
    expect((await leftovers(namespace)).length).toBeGreaterThan(10);
    await helm(['uninstall', RELEASE, '-n', namespace, '--wait', '--timeout', '60s']);
    // Pods, EndpointSlices and PVCs go through the garbage collector: poll until they are gone.
    let left: string[] = [];
    await waitFor(
      async () => {
        left = await leftovers(namespace);
        return left.length === 0;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    ).catch((err: unknown) => {
      throw new Error(`left behind after helm uninstall: ${left.join(', ') || '(the query failed)'}`, {
        cause: err,
      });
    });
  });
});
