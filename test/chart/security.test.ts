import { describe, expect, it } from 'vitest';
import { kinds, podSpecs, renderChart, type K8sObject } from '../lib/helm.ts';

const SECRETS = {
  telegramBotToken: '123456:token-that-must-not-leak-aaaaaaaaaaaa',
  telegramWebhookSecret: 'webhook-secret-that-must-not-leak',
  webhookSecret: 'callback-secret-that-must-not-leak',
  elevenlabsApiKey: 'xi-key-that-must-not-leak',
};

describe('secure defaults', () => {
  it('should run every pod non-root with seccomp, a read-only root, no capabilities and resources', async () => {
    const objects = await renderChart({ webhookRegistration: { enabled: true } });
    const pods = podSpecs(objects);
    expect(pods.map(p => p.owner.metadata.name).sort()).toEqual(
      expect.arrayContaining([
        'tr-telegram-receiver-gateway',
        'tr-telegram-receiver-worker',
        'tr-telegram-receiver-metrics',
      ]),
    );
    for (const { owner, spec } of pods) {
      const where = `${owner.kind}/${owner.metadata.name}`;
      expect(spec.securityContext, where).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      for (const c of spec.containers) {
        expect(c.securityContext, where).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
        expect(c.resources?.requests, where).toBeDefined();
        expect(c.resources?.limits, where).toBeDefined();
      }
    }
  });

  it('should mount an API token only into the metrics service, which delegates auth to the API server', async () => {
    const objects = await renderChart();
    for (const { owner, spec } of podSpecs(objects)) {
      const isMetrics = owner.metadata.name.endsWith('-metrics');
      expect(spec.automountServiceAccountToken, owner.metadata.name).toBe(isMetrics);
    }
  });
});

describe('credentials', () => {
  const plainText = (objects: K8sObject[]) => JSON.stringify(objects.filter(o => o.kind !== 'Secret'));

  it('should keep every credential in a Secret, never in a plain env value or another object', async () => {
    const objects = await renderChart({ secrets: SECRETS, sandbox: { enabled: false } });
    const text = plainText(objects);
    for (const value of Object.values(SECRETS)) expect(text).not.toContain(value);
    const secret = kinds(objects, 'Secret').find(s => s.metadata.name.endsWith('-secrets'))!;
    expect(Buffer.from(secret.data!.TELEGRAM_BOT_TOKEN!, 'base64').toString()).toBe(SECRETS.telegramBotToken);
  });

  it('should generate the webhook secrets when they are left empty, 48 characters each', async () => {
    const objects = await renderChart();
    const secret = kinds(objects, 'Secret').find(s => s.metadata.name.endsWith('-secrets'))!;
    for (const key of ['TELEGRAM_WEBHOOK_SECRET', 'WEBHOOK_SECRET']) {
      expect(Buffer.from(secret.data![key]!, 'base64').toString()).toMatch(/^[A-Za-z0-9]{48}$/);
    }
  });

  it('should use existingSecret and render no Secret of its own', async () => {
    const objects = await renderChart({ secrets: { existingSecret: 'mine' }, sandbox: { enabled: false } });
    expect(kinds(objects, 'Secret').filter(s => s.metadata.name.endsWith('-secrets'))).toEqual([]);
    expect(JSON.stringify(objects)).toContain('"name":"mine"');
  });

  it('should refuse to install without bot credentials when the sandbox is off, saying what to set', async () => {
    await expect(renderChart({ sandbox: { enabled: false } })).rejects.toThrow(
      /set secrets.telegramBotToken, secrets.bots or secrets.existingSecret/,
    );
  });

  it('should put an external Redis URL (it may carry a password) in a Secret', async () => {
    const url = 'rediss://default:redis-password-that-must-not-leak@redis:6380/0';
    const objects = await renderChart({ redis: { enabled: false, externalUrl: url } });
    expect(plainText(objects)).not.toContain('redis-password-that-must-not-leak');
    expect(kinds(objects, 'StatefulSet')).toEqual([]);
  });

  it('should refuse redis.enabled=false without a URL', async () => {
    await expect(renderChart({ redis: { enabled: false } })).rejects.toThrow(
      /redis.externalUrl or redis.existingSecret is required/,
    );
  });
});
