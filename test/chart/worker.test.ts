import { describe, expect, it } from 'vitest';
import { envOf, kinds, one, renderChart } from '../lib/helm.ts';

interface Hpa {
  minReplicas: number;
  maxReplicas: number;
  metrics: { type: string; external: { metric: { name: string; selector: unknown }; target: unknown } }[];
  behavior: {
    scaleDown: {
      stabilizationWindowSeconds: number;
      policies: { type: string; value: number; periodSeconds: number }[];
    };
  };
}

describe('worker', () => {
  it('should wait for the job drain: terminationGracePeriodSeconds = SHUTDOWN_GRACE_MS + a margin', async () => {
    const objects = await renderChart({ worker: { shutdownGraceMs: 45_500 } });
    const spec = one(objects, 'Deployment', '-worker').spec!.template!.spec;
    expect(envOf(spec.containers[0]!).SHUTDOWN_GRACE_MS).toBe('45500');
    expect(spec.terminationGracePeriodSeconds).toBe(46 + 5);
  });

  it('should scale on pending lanes per replica, and remove workers no faster than they drain', async () => {
    const objects = await renderChart({
      worker: {
        shutdownGraceMs: 30_000,
        autoscaling: { lanesPerReplica: 16, scaleDownStabilizationSeconds: 60 },
      },
    });
    const hpa = one(objects, 'HorizontalPodAutoscaler', '-worker').spec as unknown as Hpa;
    expect(hpa.metrics).toEqual([
      {
        type: 'External',
        external: {
          metric: {
            name: 'telegram_receiver_queue_pending_lanes',
            selector: { matchLabels: { queue: 'updates' } },
          },
          target: { type: 'AverageValue', averageValue: '16' },
        },
      },
    ]);
    expect(hpa.behavior.scaleDown.stabilizationWindowSeconds).toBe(60);
    expect(hpa.behavior.scaleDown.policies).toEqual([{ type: 'Percent', value: 50, periodSeconds: 35 }]);
    expect(one(objects, 'Deployment', '-worker').spec).not.toHaveProperty('replicas');
    expect(one(objects, 'PodDisruptionBudget', '-worker').spec).toMatchObject({ maxUnavailable: 1 });
  });

  it('should point the worker at the sandbox when it is on, and at the real services when it is off', async () => {
    const sandboxed = envOf(
      one(await renderChart(), 'Deployment', '-worker').spec!.template!.spec.containers[0]!,
    );
    expect(sandboxed.TELEGRAM_API_URL).toBe('http://tr-telegram-receiver-sandbox:3900');
    expect(sandboxed.CURSOR_RUNNER_URL).toBe('http://tr-telegram-receiver-sandbox:3900');
    const real = envOf(
      one(
        await renderChart({ sandbox: { enabled: false }, secrets: { telegramBotToken: '1:x' } }),
        'Deployment',
        '-worker',
      ).spec!.template!.spec.containers[0]!,
    );
    expect(real.TELEGRAM_API_URL).toBe('https://api.telegram.org');
    expect(real.CURSOR_RUNNER_CALLBACK_URL).toBe(
      'http://tr-telegram-receiver-gateway:80/cursor-runner/callback',
    );
  });

  it('should pass an external Redis behind Sentinel, the sentinel password from the Secret', async () => {
    const objects = await renderChart({
      redis: {
        enabled: false,
        externalUrl: 'redis://:pw@ignored:6379/0',
        sentinel: { sentinels: ['s0:26379', 's1:26379'], masterName: 'main' },
      },
    });
    const c = one(objects, 'Deployment', '-worker').spec!.template!.spec.containers[0]!;
    expect(envOf(c)).toMatchObject({ REDIS_SENTINELS: 's0:26379,s1:26379', REDIS_SENTINEL_MASTER: 'main' });
    expect(c.env!.find(e => e.name === 'REDIS_SENTINEL_PASSWORD')!.valueFrom).toEqual({
      secretKeyRef: {
        name: 'tr-telegram-receiver-redis-url',
        key: 'REDIS_SENTINEL_PASSWORD',
        optional: true,
      },
    });
  });

  it('should pass an external Redis Cluster to every service, with a hash-tagged prefix', async () => {
    const objects = await renderChart({
      config: { queuePrefix: '{tr}' },
      redis: {
        enabled: false,
        externalUrl: 'rediss://:pw@ignored:6379',
        cluster: { nodes: ['r0:6379', 'r1:6379'] },
      },
    });
    for (const component of ['-gateway', '-worker', '-metrics']) {
      const c = one(objects, 'Deployment', component).spec!.template!.spec.containers[0]!;
      expect(envOf(c)).toMatchObject({ REDIS_CLUSTER_NODES: 'r0:6379,r1:6379', QUEUE_PREFIX: '{tr}' });
    }
  });

  it('should refuse a Redis Cluster with an untagged prefix, saying what to set, or with Sentinel too', async () => {
    const external = { enabled: false, externalUrl: 'redis://r:6379', cluster: { nodes: ['r0:6379'] } };
    await expect(renderChart({ config: { queuePrefix: 'bots' }, redis: external })).rejects.toThrow(
      /needs a hash tag in config.queuePrefix.*set config.queuePrefix=\{bots\}/,
    );
    await expect(
      renderChart({
        config: { queuePrefix: '{tr}' },
        redis: { ...external, sentinel: { sentinels: ['s0:26379'] } },
      }),
    ).rejects.toThrow(/redis.sentinel.sentinels or redis.cluster.nodes, not both/);
  });

  it('should render a KEDA ScaledObject with the same signal and behavior instead of the HPA in keda mode', async () => {
    const objects = await renderChart({ autoscaling: { mode: 'keda' } });
    expect(kinds(objects, 'HorizontalPodAutoscaler').map(h => h.metadata.name)).toEqual([
      'tr-telegram-receiver-gateway',
    ]);
    expect(kinds(objects, 'APIService')).toEqual([]);
    const so = one(objects, 'ScaledObject');
    expect(so.spec).toMatchObject({
      scaleTargetRef: { name: 'tr-telegram-receiver-worker' },
      triggers: [
        {
          type: 'metrics-api',
          metricType: 'AverageValue',
          metadata: { url: 'http://tr-telegram-receiver-metrics:9100/queues', targetValue: '32' },
        },
      ],
    });
  });

  it('should fix the replica count and render no autoscaler in mode none', async () => {
    const objects = await renderChart({ autoscaling: { mode: 'none' }, worker: { replicas: 4 } });
    expect(one(objects, 'Deployment', '-worker').spec).toMatchObject({ replicas: 4 });
    expect(kinds(objects, 'HorizontalPodAutoscaler').map(h => h.metadata.name)).toEqual([
      'tr-telegram-receiver-gateway',
    ]);
    expect(kinds(objects, 'ScaledObject')).toEqual([]);
  });
});
