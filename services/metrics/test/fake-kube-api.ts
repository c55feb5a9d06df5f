// The Kubernetes API faked at the HTTP level, for what the metrics service asks of it: list and watch
// kube-system/extension-apiserver-authentication, and create SubjectAccessReviews.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig, type V1ConfigMap, type V1SubjectAccessReview } from '@kubernetes/client-node';

export class FakeKubeApi {
  readonly reviews: V1SubjectAccessReview[] = [];
  /** Decides each review; allows everything unless replaced. */
  decide: (review: V1SubjectAccessReview) => boolean = () => true;
  #server: Server;
  #configMap: V1ConfigMap;
  #version = 1;
  readonly #watchers = new Set<ServerResponse>();

  constructor(data: Record<string, string>) {
    this.#configMap = this.#cm(data);
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  async start(): Promise<void> {
    await new Promise<void>(resolve => this.#server.listen(0, '127.0.0.1', resolve));
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** A kubeconfig pointing at this fake, with a bearer token. */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'metrics', token: 'fake-token' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'metrics' }],
      currentContext: 'fake',
    });
    return kc;
  }

  /** Change the ConfigMap and tell the watchers (MODIFIED). */
  updateConfigMap(data: Record<string, string>): void {
    this.#configMap = this.#cm(data);
    for (const res of this.#watchers) {
      res.write(`${JSON.stringify({ type: 'MODIFIED', object: this.#configMap })}\n`);
    }
  }

  get watching(): number {
    return this.#watchers.size;
  }

  async close(): Promise<void> {
    for (const res of this.#watchers) res.end();
    this.#server.closeAllConnections();
    await new Promise(resolve => this.#server.close(resolve));
  }

  #cm(data: Record<string, string>): V1ConfigMap {
    return {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'extension-apiserver-authentication',
        namespace: 'kube-system',
        resourceVersion: String(this.#version++),
      },
      data,
    };
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.headers.authorization !== 'Bearer fake-token') {
      return this.#json(res, 401, { kind: 'Status', code: 401 });
    }
    if (req.method === 'GET' && url.pathname === '/api/v1/namespaces/kube-system/configmaps') {
      if (url.searchParams.get('fieldSelector') !== 'metadata.name=extension-apiserver-authentication') {
        return this.#json(res, 400, { kind: 'Status', code: 400, message: 'unexpected fieldSelector' });
      }
      if (url.searchParams.get('watch') === 'true') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.flushHeaders();
        this.#watchers.add(res);
        res.once('close', () => this.#watchers.delete(res));
        return;
      }
      return this.#json(res, 200, {
        apiVersion: 'v1',
        kind: 'ConfigMapList',
        metadata: { resourceVersion: this.#configMap.metadata?.resourceVersion },
        items: [this.#configMap],
      });
    }
    if (req.method === 'POST' && url.pathname === '/apis/authorization.k8s.io/v1/subjectaccessreviews') {
      let body = '';
      for await (const chunk of req) body += String(chunk);
      const review = JSON.parse(body) as V1SubjectAccessReview;
      this.reviews.push(review);
      const allowed = this.decide(review);
      return this.#json(res, 201, {
        ...review,
        status: allowed ? { allowed } : { allowed, reason: 'no RBAC rule' },
      });
    }
    this.#json(res, 404, { kind: 'Status', code: 404 });
  }

  #json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  }
}
