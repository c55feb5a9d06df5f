import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { kinds, one, renderChart } from '../lib/helm.ts';

interface ApiServiceSpec {
  group: string;
  version: string;
  service: { name: string; namespace: string; port: number };
  caBundle?: string;
  insecureSkipTLSVerify?: boolean;
}

const pem = (b64: string) => Buffer.from(b64, 'base64').toString();

describe('metrics', () => {
  it('should register v1beta1.external.metrics.k8s.io with a caBundle that signed the served certificate', async () => {
    const objects = await renderChart({}, { namespace: 'apps' });
    const api = one(objects, 'APIService');
    expect(api.metadata.name).toBe('v1beta1.external.metrics.k8s.io');
    const spec = api.spec as unknown as ApiServiceSpec;
    expect(spec).toMatchObject({
      group: 'external.metrics.k8s.io',
      version: 'v1beta1',
      service: { name: 'tr-telegram-receiver-metrics', namespace: 'apps', port: 443 },
    });
    expect(spec.insecureSkipTLSVerify).toBeUndefined();
    const tls = one(objects, 'Secret', '-metrics-tls');
    const ca = new X509Certificate(pem(spec.caBundle!));
    const served = new X509Certificate(pem(tls.data!['tls.crt']!));
    expect(served.verify(ca.publicKey)).toBe(true);
    expect(served.subjectAltName).toContain('DNS:tr-telegram-receiver-metrics.apps.svc');
    expect(pem(tls.data!['ca.crt']!)).toBe(pem(spec.caBundle!));
  });

  it('should bind system:auth-delegator, the authentication reader in kube-system, and let the HPA controller read external metrics', async () => {
    const objects = await renderChart({}, { namespace: 'apps' });
    const subject = { kind: 'ServiceAccount', name: 'tr-telegram-receiver-metrics', namespace: 'apps' };
    const delegator = kinds(objects, 'ClusterRoleBinding').find(b =>
      b.metadata.name.endsWith(':auth-delegator'),
    )!;
    expect(delegator).toMatchObject({
      roleRef: { kind: 'ClusterRole', name: 'system:auth-delegator' },
      subjects: [subject],
    });
    const reader = one(objects, 'RoleBinding');
    expect(reader).toMatchObject({
      metadata: { namespace: 'kube-system' },
      roleRef: { kind: 'Role', name: 'extension-apiserver-authentication-reader' },
      subjects: [subject],
    });
    const hpa = kinds(objects, 'ClusterRoleBinding').find(b =>
      b.metadata.name.endsWith(':hpa-external-metrics'),
    )!;
    expect(hpa).toMatchObject({
      subjects: [{ name: 'horizontal-pod-autoscaler', namespace: 'kube-system' }],
    });
    const deployment = one(objects, 'Deployment', '-metrics').spec!.template!.spec;
    expect(deployment.serviceAccountName).toBe('tr-telegram-receiver-metrics');
  });

  it('should leave the test-only host wiring off by default, and point at an ExternalName to localhost when on', async () => {
    expect(
      kinds(await renderChart(), 'Service').filter(s => s.metadata.name.endsWith('-metrics-host')),
    ).toEqual([]);
    const objects = await renderChart({
      metrics: { hostProcess: { enabled: true, apiPort: 19443, caBundle: 'PEM' } },
    });
    expect(one(objects, 'Service', '-metrics-host').spec).toEqual({
      type: 'ExternalName',
      externalName: 'localhost',
      ports: [{ name: 'https', port: 19443 }],
    });
    expect(one(objects, 'APIService').spec).toMatchObject({
      service: { name: 'tr-telegram-receiver-metrics-host', port: 19443 },
      caBundle: Buffer.from('PEM').toString('base64'),
    });
  });

  it('should hand the certificate to cert-manager and let its cainjector fill the caBundle when asked', async () => {
    const objects = await renderChart({ metrics: { certManager: { enabled: true } } }, { namespace: 'apps' });
    expect(kinds(objects, 'Secret').filter(s => s.metadata.name.endsWith('-metrics-tls'))).toEqual([]);
    expect(one(objects, 'Certificate').spec).toMatchObject({
      secretName: 'tr-telegram-receiver-metrics-tls',
      issuerRef: { name: 'tr-telegram-receiver-metrics-selfsigned', kind: 'Issuer' },
    });
    const api = one(objects, 'APIService');
    expect(api.metadata.annotations).toEqual({
      'cert-manager.io/inject-ca-from': 'apps/tr-telegram-receiver-metrics-tls',
    });
    expect(api.spec).not.toHaveProperty('caBundle');
  });

  it('should render prometheus-adapter rules publishing the gauges under the names the HPA reads', async () => {
    const objects = await renderChart({ autoscaling: { mode: 'prometheusAdapter' } });
    expect(kinds(objects, 'APIService')).toEqual([]);
    const cm = one(objects, 'ConfigMap', '-prometheus-adapter-rules');
    expect(cm.data!['config.yaml']).toContain('as: telegram_receiver_queue_pending_lanes');
    expect(one(objects, 'HorizontalPodAutoscaler', '-worker')).toBeDefined();
  });
});
