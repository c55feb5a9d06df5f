// What the chart's hooks create in the real API server: the webhook-registration Job (post-install)
// and the three `helm test` pods. No kubelet runs here, so none of them can finish: helm honestly
// times out waiting, and the test checks the spec of what it created — never a faked outcome.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HelmError, parseObjects, podSpecs, type K8sObject } from '../lib/helm.ts';
import { CHART_DIR, helm, kubectl, kubectlJson } from '../lib/kube.ts';

const RELEASE = 'tr';
const NAMESPACE = 'hooks';
const VALUES = { webhookRegistration: { enabled: true, activeDeadlineSeconds: 30 } };

let rendered: K8sObject[] = [];

beforeAll(async () => {
  rendered = parseObjects(await helm(['template', RELEASE, CHART_DIR, '-n', NAMESPACE, '-f', '-'], VALUES));
  // The post-install Job never completes without a kubelet: helm waits, then says so.
  const install = await helm(
    ['install', RELEASE, CHART_DIR, '-n', NAMESPACE, '--create-namespace', '-f', '-', '--timeout', '8s'],
    VALUES,
  ).catch((err: unknown) => err);
  expect(install).toBeInstanceOf(HelmError);
  expect((install as Error).message).toMatch(/post-install.*(timed out|deadline)|timed out waiting/i);
});

afterAll(async () => {
  // The release (failed: its hook never finished) still owns cluster-wide objects such as the
  // APIService: remove them before the next file installs its own.
  await helm(['uninstall', RELEASE, '-n', NAMESPACE, '--no-hooks', '--wait', '--timeout', '60s']);
  await kubectl(['delete', 'namespace', NAMESPACE, '--ignore-not-found', '--wait=true', '--timeout=60s']);
});

function renderedOne(kind: string, suffix: string): K8sObject {
  const found = rendered.find(o => o.kind === kind && o.metadata.name.endsWith(suffix));
  if (!found) throw new Error(`nothing rendered for ${kind} *${suffix}`);
  return found;
}

describe('the webhook-registration hook', () => {
  it('should create its Job as rendered, calling the admin Service with the admin secret from the Secret', async () => {
    const want = renderedOne('Job', '-webhook-registration');
    const job = await kubectlJson<K8sObject>(['get', 'job', want.metadata.name, '-n', NAMESPACE]);
    expect(job.metadata.annotations).toMatchObject({ 'helm.sh/hook': 'post-install,post-upgrade' });
    const [container] = podSpecs([job])[0]!.spec.containers;
    expect(container).toMatchObject(podSpecs([want])[0]!.spec.containers[0]!);
    expect(JSON.stringify(container!.env)).not.toMatch(/"value":"[A-Za-z0-9]{48}"/);
  });
});

describe('helm test', () => {
  it.each(['health', 'k6', 'delivery'])(
    'should create the %s test pod with the rendered spec',
    async name => {
      const want = renderedOne('Pod', `-test-${name}`);
      // Helm runs test hooks one at a time and waits for each; a short timeout per pod, and the pod is there.
      const result = await helm([
        'test',
        RELEASE,
        '-n',
        NAMESPACE,
        '--filter',
        `name=${want.metadata.name}`,
        '--timeout',
        '5s',
      ]).catch((err: unknown) => err);
      expect(result, 'a test pod cannot succeed without a kubelet').toBeInstanceOf(HelmError);
      const pod = await kubectlJson<K8sObject>(['get', 'pod', want.metadata.name, '-n', NAMESPACE]);
      expect(pod.metadata.annotations).toMatchObject({ 'helm.sh/hook': 'test' });
      expect(pod.spec).toMatchObject(want.spec!);
      expect((pod as { status?: { phase?: string } }).status?.phase).toBe('Pending');
    },
  );

  it('should mount the k6 scripts ConfigMap the chart installed', async () => {
    const cm = await kubectlJson<K8sObject>([
      'get',
      'configmap',
      `${RELEASE}-telegram-receiver-k6`,
      '-n',
      NAMESPACE,
    ]);
    expect(Object.keys(cm.data!)).toEqual(expect.arrayContaining(['smoke.js', 'delivery.js']));
  });
});
