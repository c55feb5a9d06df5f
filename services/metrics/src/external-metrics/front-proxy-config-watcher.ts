import { CoreV1Api, ListWatch, Watch, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import type { Logger } from '@telegram-receiver/core';
import { parseFrontProxyConfig, type FrontProxyConfig } from './front-proxy-config.ts';

/** Where kube-apiserver publishes its front-proxy settings for aggregated API servers. */
export const AUTH_CONFIGMAP = {
  namespace: 'kube-system',
  name: 'extension-apiserver-authentication',
} as const;

/** Options of {@link FrontProxyConfigWatcher}. */
export interface FrontProxyConfigWatcherOptions {
  /** How to reach the Kubernetes API (`KubeConfig.loadFromDefault()`: in-cluster in a pod). */
  kubeConfig: KubeConfig;
  logger: Logger;
  /** Told every new valid configuration (the TLS server trusts its CA from then on). */
  onChange: (config: FrontProxyConfig) => void;
  /** Wait before watching again after the watch failed. @defaultValue 5000 */
  restartDelayMs?: number;
}

/**
 * Reads and watches `kube-system/extension-apiserver-authentication` with client-node's ListWatch
 * (list, then watch from its resourceVersion, re-listing when the version is gone), so a rotated
 * front-proxy CA is trusted without a restart. A ConfigMap that describes no usable front proxy is
 * logged and ignored: the last good configuration stays.
 */
export class FrontProxyConfigWatcher {
  readonly #opts: FrontProxyConfigWatcherOptions;
  readonly #informer: ListWatch<V1ConfigMap>;
  #current: FrontProxyConfig | undefined;
  #stopped = false;
  #restart: NodeJS.Timeout | undefined;

  constructor(opts: FrontProxyConfigWatcherOptions) {
    this.#opts = opts;
    const core = opts.kubeConfig.makeApiClient(CoreV1Api);
    const fieldSelector = `metadata.name=${AUTH_CONFIGMAP.name}`;
    this.#informer = new ListWatch<V1ConfigMap>(
      `/api/v1/namespaces/${AUTH_CONFIGMAP.namespace}/configmaps`,
      new Watch(opts.kubeConfig),
      () => core.listNamespacedConfigMap({ namespace: AUTH_CONFIGMAP.namespace, fieldSelector }),
      false,
      undefined,
      fieldSelector,
    );
    const apply = (cm: V1ConfigMap) => this.#apply(cm);
    this.#informer.on('add', apply);
    this.#informer.on('update', apply);
    this.#informer.on('error', (err: unknown) => {
      // ListWatch stops on an error it cannot handle itself (API unreachable, 403): start it again.
      opts.logger.warn({ err }, `cannot watch ${AUTH_CONFIGMAP.namespace}/${AUTH_CONFIGMAP.name}; retrying`);
      if (this.#stopped) return;
      this.#restart = setTimeout(() => this.#startInformer(), opts.restartDelayMs ?? 5000);
      this.#restart.unref();
    });
  }

  /** The last valid configuration, `undefined` until one was read. */
  get current(): FrontProxyConfig | undefined {
    return this.#current;
  }

  /** List and start watching (in the background; errors are retried). */
  start(): void {
    this.#stopped = false;
    this.#startInformer();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#restart);
    await this.#informer.stop();
  }

  #startInformer(): void {
    // start() reports its failures through the 'error' callback too; nothing more to do here.
    this.#informer.start().catch(() => undefined);
  }

  #apply(cm: V1ConfigMap): void {
    try {
      const config = parseFrontProxyConfig(cm.data);
      this.#current = config;
      this.#opts.logger.info(
        { allowedNames: config.allowedNames, resourceVersion: cm.metadata?.resourceVersion },
        'front-proxy authentication configuration loaded',
      );
      this.#opts.onChange(config);
    } catch (err) {
      this.#opts.logger.error({ err }, 'ignoring an unusable extension-apiserver-authentication ConfigMap');
    }
  }
}
