import { describe, expect, it } from 'vitest';
import { envOf, kinds, one, renderChart } from '../lib/helm.ts';

describe('gateway', () => {
  it('should expose only the webhook and callback paths through the Ingress, with TLS', async () => {
    const objects = await renderChart({
      gateway: {
        ingress: { enabled: true, className: 'nginx', host: 'bots.example.com', tlsSecretName: 'tls' },
      },
    });
    const ingress = one(objects, 'Ingress');
    const rule = (ingress.spec as { rules: { host: string; http: { paths: { path: string }[] } }[] })
      .rules[0]!;
    expect(rule.host).toBe('bots.example.com');
    expect(rule.http.paths.map(p => p.path)).toEqual(['/telegram/webhook', '/cursor-runner/callback']);
    expect(ingress.spec).toMatchObject({ tls: [{ hosts: ['bots.example.com'], secretName: 'tls' }] });
    // The registered webhook follows the public host.
    const gw = one(objects, 'Deployment', '-gateway').spec!.template!.spec.containers[0]!;
    expect(envOf(gw).TELEGRAM_WEBHOOK_BASE_URL).toBe('https://bots.example.com');
  });

  it('should render no Ingress by default, and an admin Service that is ClusterIP only', async () => {
    const objects = await renderChart();
    expect(kinds(objects, 'Ingress')).toEqual([]);
    const admin = one(objects, 'Service', '-gateway-admin');
    expect(admin.spec).toMatchObject({ type: 'ClusterIP', ports: [{ name: 'admin', targetPort: 'admin' }] });
  });

  it('should scale on CPU, and on the request rate when asked', async () => {
    const plain = one(await renderChart(), 'HorizontalPodAutoscaler', '-gateway');
    expect(plain.spec).toMatchObject({ minReplicas: 2, maxReplicas: 10, metrics: [{ type: 'Resource' }] });
    const withRate = one(
      await renderChart({
        gateway: { autoscaling: { requestRate: { enabled: true, averageValue: '300' } } },
      }),
      'HorizontalPodAutoscaler',
      '-gateway',
    );
    expect((withRate.spec as { metrics: unknown[] }).metrics[1]).toMatchObject({
      type: 'Pods',
      pods: { target: { type: 'AverageValue', averageValue: '300' } },
    });
  });

  it('should keep a PDB and drop the replica count when the HPA owns it', async () => {
    const objects = await renderChart();
    expect(one(objects, 'PodDisruptionBudget', '-gateway').spec).toMatchObject({ minAvailable: 1 });
    expect(one(objects, 'Deployment', '-gateway').spec).not.toHaveProperty('replicas');
    const fixed = await renderChart({ gateway: { autoscaling: { enabled: false }, replicas: 3 } });
    expect(one(fixed, 'Deployment', '-gateway').spec).toMatchObject({ replicas: 3 });
  });

  it('should register each bot webhook in a post-install/upgrade hook, through the admin Service', async () => {
    const objects = await renderChart({
      webhookRegistration: { enabled: true },
      secrets: { bots: [{ name: 'support', token: 't:1', webhookSecret: 'support-secret' }] },
    });
    const job = one(objects, 'Job', '-webhook-registration');
    expect(job.metadata.annotations).toMatchObject({ 'helm.sh/hook': 'post-install,post-upgrade' });
    const c = (
      job.spec as { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } }
    ).template.spec.containers[0]!;
    const env = Object.fromEntries(c.env.map(e => [e.name, e.value]));
    expect(JSON.parse(env.BOTS!)).toEqual(['default', 'support']);
    expect(env.ADMIN_URL).toBe('http://tr-telegram-receiver-gateway-admin:8080');
  });
});
