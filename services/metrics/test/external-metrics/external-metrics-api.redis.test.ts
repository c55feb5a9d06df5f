// The External Metrics API over real TLS, with the Kubernetes API faked at the HTTP level: the
// front-proxy authentication, the SubjectAccessReview, and the shapes the HPA controller reads.
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { V1APIResource, V1APIResourceList } from '@kubernetes/client-node';
import {
  LaneWriter,
  QUEUE_NAMES,
  createLogger,
  createProducerConnection,
  loadConfig,
  closeConnection,
  createMetricsRegistry,
} from '@telegram-receiver/core';
import { RedisServer, randomName, waitFor } from '@telegram-receiver/testing';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { metricsEnv } from '../../src/env.ts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMetricsService, type MetricsService } from '../../src/metrics-service.ts';
import { FakeKubeApi } from '../fake-kube-api.ts';
import { CertFactory, type Pem } from '../tls-fixtures.ts';

interface Answer {
  status: number;
  body: Record<string, unknown>;
  fingerprint: string;
}

describe('External Metrics API (external.metrics.k8s.io/v1beta1)', () => {
  const certs = new CertFactory();
  let servingCA: Pem;
  let frontProxyCA: Pem;
  let proxyClient: Pem;
  let redisServer: RedisServer;
  let redis: Redis;
  let kube: FakeKubeApi;
  let service: MetricsService;
  let port: number;
  let certFile: string;
  let keyFile: string;
  const logLines: string[] = [];
  const authData = (ca: Pem) => ({
    'requestheader-client-ca-file': ca.cert,
    'requestheader-allowed-names': JSON.stringify(['front-proxy-client']),
    'requestheader-username-headers': JSON.stringify(['X-Remote-User']),
    'requestheader-group-headers': JSON.stringify(['X-Remote-Group']),
    'requestheader-extra-headers-prefix': JSON.stringify(['X-Remote-Extra-']),
    'client-ca-file': '-----BEGIN CERTIFICATE-----\nnot trusted here\n-----END CERTIFICATE-----\n',
  });
  const hpa = {
    'X-Remote-User': 'system:serviceaccount:kube-system:horizontal-pod-autoscaler',
    'X-Remote-Group': ['system:serviceaccounts', 'system:authenticated'],
  };

  async function get(
    path: string,
    opts: { client?: Pem; headers?: Record<string, string | string[]>; method?: string } = {},
  ): Promise<Answer> {
    return await new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path,
          method: opts.method ?? 'GET',
          ca: servingCA.cert,
          cert: opts.client?.cert,
          key: opts.client?.key,
          headers: opts.headers ?? hpa,
          agent: false,
        },
        res => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => {
            const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
            resolve({
              status: res.statusCode ?? 0,
              body: JSON.parse(text) as Record<string, unknown>,
              fingerprint,
            });
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  beforeAll(async () => {
    servingCA = certs.ca('serving-ca');
    frontProxyCA = certs.ca('front-proxy-ca');
    proxyClient = certs.leaf(frontProxyCA, 'front-proxy-client', 'client');
    const serving = certs.leaf(servingCA, 'metrics.telegram-receiver.svc', 'server');
    certFile = join(certs.dir, 'tls.crt');
    keyFile = join(certs.dir, 'tls.key');
    writeFileSync(certFile, serving.cert);
    writeFileSync(keyFile, serving.key);
    redisServer = await RedisServer.start({ appendOnly: false });
    kube = new FakeKubeApi(authData(frontProxyCA));
    await kube.start();
    const prefix = randomName('tr');
    const config = loadConfig(metricsEnv, {
      REDIS_URL: redisServer.url,
      QUEUE_PREFIX: prefix,
      METRICS_INTERVAL_MS: '50',
      METRICS_API_ENABLED: 'true',
      METRICS_TLS_CERT_FILE: certFile,
      METRICS_TLS_KEY_FILE: keyFile,
      METRICS_TLS_RELOAD_MS: '100',
      LOG_LEVEL: 'silent',
    });
    redis = createProducerConnection({ url: redisServer.url, name: 'metrics-test' });
    if (redis.status !== 'ready') await new Promise(resolve => redis.once('ready', resolve));
    const queue = new Queue(QUEUE_NAMES.updates, { connection: redis, prefix });
    const lanes = new LaneWriter({ queue, redis, prefix });
    const item = (jobId: string, lane: string) => ({
      jobId,
      data: '{}',
      opts: '{}',
      lane: { bot: 'alpha', lane },
    });
    await lanes.append(
      'u',
      [1, 2, 3, 4].map(n => item(`u${n}`, 'chat:1')),
      Date.now() - 1500,
    );
    await lanes.append('u', [item('u5', 'chat:2')]);
    await queue.close();
    service = await createMetricsService({
      config,
      redis,
      logger: createLogger({
        service: 'metrics-test',
        level: 'info',
        destination: { write: (line: string) => void logLines.push(line) },
      }),
      registry: createMetricsRegistry(),
      kubeConfig: kube.kubeConfig(),
    });
    service.collector.start();
    port = await service.api!.server.listen(0, '127.0.0.1');
    service.api!.authConfig.start();
    await waitFor(
      () => service.api!.authConfig.current !== undefined && service.collector.sample() !== undefined,
      {
        message: 'the auth ConfigMap is read and the queues sampled',
      },
    );
  });
  afterAll(async () => {
    await service.api?.server.close();
    await service.api?.authConfig.stop();
    service.collector.stop();
    await service.collector.settled();
    await closeConnection(redis);
    await kube.close();
    await redisServer.close();
    certs.cleanup();
  });
  beforeEach(() => {
    kube.decide = () => true;
  });

  describe('discovery', () => {
    it("should list the four metrics as an APIResourceList shaped like client-node's V1APIResourceList", async () => {
      const res = await get('/apis/external.metrics.k8s.io/v1beta1', { client: proxyClient });
      expect(res.status).toBe(200);
      const known = (type: { getAttributeTypeMap(): { baseName: string }[] }) =>
        type.getAttributeTypeMap().map(a => a.baseName);
      expect(known(V1APIResourceList)).toEqual(expect.arrayContaining(Object.keys(res.body)));
      expect(res.body).toMatchObject({
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: 'external.metrics.k8s.io/v1beta1',
      });
      const resources = res.body.resources as Record<string, unknown>[];
      expect(resources.map(r => r.name)).toEqual([
        'telegram_receiver_queue_backlog',
        'telegram_receiver_queue_pending_lanes',
        'telegram_receiver_queue_oldest_age_seconds',
        'telegram_receiver_queue_active',
      ]);
      for (const r of resources) {
        expect(known(V1APIResource)).toEqual(expect.arrayContaining(Object.keys(r)));
        // The fields V1APIResource marks required.
        expect(r).toEqual({
          name: r.name,
          singularName: '',
          namespaced: true,
          kind: 'ExternalMetricValueList',
          verbs: ['get'],
        });
      }
      const review = kube.reviews.at(-1)!;
      expect(review.spec).toMatchObject({
        user: hpa['X-Remote-User'],
        groups: hpa['X-Remote-Group'],
        nonResourceAttributes: { path: '/apis/external.metrics.k8s.io/v1beta1', verb: 'get' },
      });
    });

    it('should serve the group, and minimal OpenAPI v2 and v3 documents for the aggregator', async () => {
      const group = await get('/apis/external.metrics.k8s.io', { client: proxyClient });
      expect(group.body).toMatchObject({
        kind: 'APIGroup',
        name: 'external.metrics.k8s.io',
        preferredVersion: { version: 'v1beta1' },
      });
      expect((await get('/openapi/v2', { client: proxyClient })).body).toMatchObject({ swagger: '2.0' });
      const v3 = await get('/openapi/v3', { client: proxyClient });
      const path = (v3.body.paths as Record<string, { serverRelativeURL: string }>)[
        'apis/external.metrics.k8s.io/v1beta1'
      ]!;
      expect((await get(path.serverRelativeURL, { client: proxyClient })).body).toMatchObject({
        openapi: '3.0.0',
      });
    });
  });

  describe('GET /apis/external.metrics.k8s.io/v1beta1/namespaces/{ns}/{metric}', () => {
    it('should answer an ExternalMetricValueList per metric, one item per selected queue, shaped as k8s.io/metrics v1beta1', async () => {
      const base = '/apis/external.metrics.k8s.io/v1beta1/namespaces/bots';
      const values: Record<string, string> = {};
      for (const metric of ['backlog', 'pending_lanes', 'oldest_age_seconds', 'active']) {
        const res = await get(`${base}/telegram_receiver_queue_${metric}?labelSelector=queue%3Dupdates`, {
          client: proxyClient,
        });
        expect(res.status).toBe(200);
        // ExternalMetricValueList{TypeMeta, ListMeta `metadata`, Items `items`}; each ExternalMetricValue
        // has metricName, metricLabels, timestamp (metav1.Time), value (Quantity), window omitted.
        expect(Object.keys(res.body).sort()).toEqual(['apiVersion', 'items', 'kind', 'metadata']);
        expect(res.body).toMatchObject({
          kind: 'ExternalMetricValueList',
          apiVersion: 'external.metrics.k8s.io/v1beta1',
        });
        const items = res.body.items as Record<string, unknown>[];
        expect(items).toHaveLength(1);
        expect(Object.keys(items[0]!).sort()).toEqual(['metricLabels', 'metricName', 'timestamp', 'value']);
        expect(items[0]).toMatchObject({
          metricName: `telegram_receiver_queue_${metric}`,
          metricLabels: { queue: 'updates' },
        });
        expect(items[0]!.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        expect(items[0]!.value).toMatch(/^\d+(m)?$/);
        values[metric] = items[0]!.value as string;
      }
      expect(values.backlog).toBe('5');
      expect(values.pending_lanes).toBe('2');
      expect(values.active).toBe('0');
      expect(Number(values.oldest_age_seconds!.replace('m', '')) / 1000).toBeGreaterThanOrEqual(1.5);
      expect(kube.reviews.at(-1)!.spec).toMatchObject({
        resourceAttributes: {
          group: 'external.metrics.k8s.io',
          version: 'v1beta1',
          resource: 'telegram_receiver_queue_active',
          namespace: 'bots',
          verb: 'get',
        },
      });
    });

    it('should select with set-based selectors and select every queue with none', async () => {
      const url = '/apis/external.metrics.k8s.io/v1beta1/namespaces/bots/telegram_receiver_queue_backlog';
      const all = await get(url, { client: proxyClient });
      expect(
        (all.body.items as { metricLabels: { queue: string } }[]).map(i => i.metricLabels.queue),
      ).toEqual(['updates', 'callbacks']);
      const notin = await get(`${url}?labelSelector=${encodeURIComponent('queue notin (updates)')}`, {
        client: proxyClient,
      });
      expect((notin.body.items as { value: string }[]).map(i => i.value)).toEqual(['0']);
      // The collector reads the `notices` side queue too (its dead letters), but it is no scaling signal.
      const notices = await get(`${url}?labelSelector=queue%3Dnotices`, { client: proxyClient });
      expect(notices.status).toBe(200);
      expect(notices.body.items).toEqual([]);
    });

    it('should answer 400 with a clear message for a malformed labelSelector', async () => {
      const url =
        '/apis/external.metrics.k8s.io/v1beta1/namespaces/bots/telegram_receiver_queue_backlog?labelSelector=';
      for (const [selector, says] of [
        ['queue in (updates', 'unbalanced parentheses'],
        ['queue=up dates', 'invalid label value "up dates"'],
        ['queue=updates,,x', 'empty requirement'],
        ['-bad=1', 'invalid label key "-bad"'],
        ['queue>3', 'not supported'],
        ['x'.repeat(2000), 'longer than 1024'],
      ] as const) {
        const res = await get(url + encodeURIComponent(selector), { client: proxyClient });
        expect(res.status, selector).toBe(400);
        expect(res.body).toMatchObject({
          kind: 'Status',
          status: 'Failure',
          reason: 'BadRequest',
          code: 400,
        });
        expect(res.body.message).toContain('invalid labelSelector');
        expect(res.body.message).toContain(says);
      }
      const twice = await get(`${url}queue%3Dupdates&labelSelector=queue%3Dcallbacks`, {
        client: proxyClient,
      });
      expect(twice).toMatchObject({ status: 400, body: { reason: 'BadRequest' } });
      expect(twice.body.message).toContain('given more than once');
    });

    it('should answer 405 to a write and 404 to an unknown path, as Kubernetes Status objects', async () => {
      const base = '/apis/external.metrics.k8s.io/v1beta1';
      const post = await get(`${base}/namespaces/bots/telegram_receiver_queue_backlog`, {
        client: proxyClient,
        method: 'POST',
      });
      expect(post).toMatchObject({ status: 405, body: { kind: 'Status', reason: 'MethodNotAllowed' } });
      const unknown = await get('/apis/custom.metrics.k8s.io/v1beta1', { client: proxyClient });
      expect(unknown).toMatchObject({ status: 404, body: { kind: 'Status', reason: 'NotFound' } });
    });

    it('should answer 404 for an unknown metric and 400 for an invalid namespace', async () => {
      const base = '/apis/external.metrics.k8s.io/v1beta1/namespaces';
      const unknown = await get(`${base}/bots/queue_depth`, { client: proxyClient });
      expect(unknown).toMatchObject({ status: 404, body: { kind: 'Status', reason: 'NotFound' } });
      const badNs = await get(`${base}/Bad_NS/telegram_receiver_queue_backlog`, { client: proxyClient });
      expect(badNs).toMatchObject({ status: 400, body: { reason: 'BadRequest' } });
    });
  });

  describe('authentication and authorization', () => {
    const url = '/apis/external.metrics.k8s.io/v1beta1/namespaces/bots/telegram_receiver_queue_backlog';

    it('should answer 401 without a client certificate, with one from another CA, a disallowed name, or no user', async () => {
      const otherCA = certs.ca('front-proxy-ca');
      const before = kube.reviews.length;
      for (const [client, headers] of [
        [undefined, hpa],
        [certs.leaf(otherCA, 'front-proxy-client', 'client'), hpa],
        [certs.leaf(frontProxyCA, 'someone-else', 'client'), hpa],
        [certs.leaf(frontProxyCA, 'front-proxy-client', 'server'), hpa],
        [proxyClient, { 'X-Remote-Group': 'system:masters' }],
      ] as const) {
        const res = await get(url, { client, headers });
        expect(res.status).toBe(401);
        expect(res.body).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
      }
      expect(kube.reviews.length).toBe(before);
    });

    it('should answer 403 when the SubjectAccessReview denies, and cache the decision briefly', async () => {
      kube.decide = review => review.spec?.user !== 'mallory';
      const before = kube.reviews.length;
      const mallory = { 'X-Remote-User': 'mallory', 'X-Remote-Group': 'system:authenticated' };
      const first = await get(url, { client: proxyClient, headers: mallory });
      expect(first.status).toBe(403);
      expect(first.body).toMatchObject({ kind: 'Status', reason: 'Forbidden', code: 403 });
      expect(first.body.message).toContain(
        'User "mallory" cannot get resource "telegram_receiver_queue_backlog"',
      );
      expect((await get(url, { client: proxyClient, headers: mallory })).status).toBe(403);
      expect(kube.reviews.length).toBe(before + 1);
      // system:masters is never sent to a review (kube's delegating authorizer does the same).
      const admin = {
        'X-Remote-User': 'mallory',
        'X-Remote-Group': ['system:masters', 'system:authenticated'],
      };
      expect((await get(url, { client: proxyClient, headers: admin })).status).toBe(200);
      expect(kube.reviews.length).toBe(before + 1);
    });
  });

  describe('rotation', () => {
    it('should serve a rotated serving certificate without a restart, and ignore a half-written pair', async () => {
      const before = await get('/openapi/v2', { client: proxyClient });
      const next = certs.leaf(servingCA, 'metrics.telegram-receiver.svc', 'server');
      // The certificate lands before its key: the pair does not match, the old one stays.
      writeFileSync(certFile, next.cert);
      await service.api!.server.reload();
      expect((await get('/openapi/v2', { client: proxyClient })).fingerprint).toBe(before.fingerprint);
      writeFileSync(keyFile, next.key);
      const after = await waitFor(
        async () => {
          const res = await get('/openapi/v2', { client: proxyClient });
          return res.fingerprint !== before.fingerprint && res;
        },
        { message: 'the new serving certificate is served' },
      );
      expect(after.status).toBe(200);
    });

    it('should trust a rotated front-proxy CA from the watched ConfigMap, and no longer the old one', async () => {
      const nextCA = certs.ca('front-proxy-ca-2');
      const nextClient = certs.leaf(nextCA, 'front-proxy-client', 'client');
      await waitFor(() => kube.watching > 0, { message: 'the ConfigMap is watched' });
      kube.updateConfigMap(authData(nextCA));
      await waitFor(async () => (await get('/openapi/v2', { client: nextClient })).status === 200, {
        message: 'the new front-proxy CA is trusted',
      });
      expect((await get('/openapi/v2', { client: proxyClient })).status).toBe(401);
      // A ConfigMap without a front-proxy CA is ignored: the last good configuration stays.
      kube.updateConfigMap({ 'client-ca-file': nextCA.cert });
      await waitFor(() =>
        logLines.some(l => l.includes('ignoring an unusable extension-apiserver-authentication')),
      );
      expect(service.api!.authConfig.current?.clientCA).toBe(nextCA.cert);
      expect((await get('/openapi/v2', { client: nextClient })).status).toBe(200);
      kube.updateConfigMap(authData(frontProxyCA));
      await waitFor(async () => (await get('/openapi/v2', { client: proxyClient })).status === 200);
      expect(logLines.join('')).not.toContain('BEGIN CERTIFICATE');
    });
  });
});
