import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { kinds, one, renderChart } from '../lib/helm.ts';
import { CHART_DIR } from '../lib/tools.ts';

describe('helm test pods', () => {
  it('should run health, k6 and delivery pods as test hooks that never restart', async () => {
    const pods = kinds(await renderChart(), 'Pod');
    expect(pods.map(p => p.metadata.name).sort()).toEqual([
      'tr-telegram-receiver-test-delivery',
      'tr-telegram-receiver-test-health',
      'tr-telegram-receiver-test-k6',
    ]);
    for (const pod of pods) {
      expect(pod.metadata.annotations).toMatchObject({ 'helm.sh/hook': 'test' });
      expect(pod.spec).toMatchObject({
        restartPolicy: 'Never',
        activeDeadlineSeconds: 240,
        automountServiceAccountToken: false,
      });
    }
    const k6 = one(pods, 'Pod', '-test-k6').spec as { containers: { image: string; args: string[] }[] };
    expect(k6.containers[0]).toMatchObject({
      image: 'grafana/k6:1.4.2',
      args: ['run', '--quiet', '/scripts/smoke.js'],
    });
  });

  it('should ship every bundled k6 script in the ConfigMap the k6 pods mount', async () => {
    const cm = one(await renderChart(), 'ConfigMap', '-k6');
    expect(Object.keys(cm.data!).sort()).toEqual(readdirSync(`${CHART_DIR}files/k6`).sort());
    expect(cm.data!['delivery.js']).toContain('options');
  });

  it('should skip the delivery check without the sandbox, and every test pod when tests are off', async () => {
    const noSandbox = await renderChart({
      sandbox: { enabled: false },
      secrets: { telegramBotToken: '1:x' },
    });
    expect(kinds(noSandbox, 'Pod').map(p => p.metadata.name)).not.toContain(
      'tr-telegram-receiver-test-delivery',
    );
    expect(kinds(await renderChart({ tests: { enabled: false } }), 'Pod')).toEqual([]);
  });
});
