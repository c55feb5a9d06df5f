import type {
  AuthorizationV1Api,
  V1NonResourceAttributes,
  V1ResourceAttributes,
} from '@kubernetes/client-node';
import { LRUCache } from 'lru-cache';
import type { RemoteUser } from './front-proxy-authentication.ts';

/** What is asked: a resource (`get` on a metric in a namespace) or a non-resource path (discovery). */
export type AccessAttributes =
  { resourceAttributes: V1ResourceAttributes } | { nonResourceAttributes: V1NonResourceAttributes };

/** The answer of {@link AccessReviewer.review}. */
export interface AccessDecision {
  allowed: boolean;
  /** The authorizer's reason, when it gave one. */
  reason?: string;
}

/** Options of {@link AccessReviewer}. */
export interface AccessReviewerOptions {
  /** `kubeConfig.makeApiClient(AuthorizationV1Api)`. */
  api: Pick<AuthorizationV1Api, 'createSubjectAccessReview'>;
  /** How long an "allowed" is reused. @defaultValue 10000 */
  allowTtlMs?: number;
  /** How long a "denied" is reused. @defaultValue 10000 */
  denyTtlMs?: number;
  /** Distinct questions remembered. @defaultValue 10000 */
  maxEntries?: number;
}

/**
 * Asks the Kubernetes API whether a user may do something (SubjectAccessReview), as the delegated
 * authorizer of an aggregated API server does, and caches each decision briefly (10 s by default,
 * as kube's delegating authorizer) so the HPA's polling costs one review per interval, not per
 * request. Concurrent identical questions share one review. Members of `system:masters` are allowed
 * without a review, as kube's delegating authorizer does. A failed review is not cached: it
 * rejects, and the caller answers 500.
 */
export class AccessReviewer {
  readonly #api: AccessReviewerOptions['api'];
  readonly #allowTtl: number;
  readonly #denyTtl: number;
  readonly #cache: LRUCache<string, AccessDecision>;
  readonly #inFlight = new Map<string, Promise<AccessDecision>>();

  constructor(opts: AccessReviewerOptions) {
    this.#api = opts.api;
    this.#allowTtl = opts.allowTtlMs ?? 10_000;
    this.#denyTtl = opts.denyTtlMs ?? 10_000;
    this.#cache = new LRUCache({
      max: opts.maxEntries ?? 10_000,
      ttl: Math.max(this.#allowTtl, this.#denyTtl, 1),
    });
  }

  async review(user: RemoteUser, attributes: AccessAttributes): Promise<AccessDecision> {
    // As kube's delegating authorizer: cluster admins are never sent to a review.
    if (user.groups.includes('system:masters')) return { allowed: true };
    const key = JSON.stringify([user.name, [...user.groups].sort(), user.extra, attributes]);
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached;
    let pending = this.#inFlight.get(key);
    if (pending === undefined) {
      pending = this.#ask(user, attributes).finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, pending);
    }
    const decision = await pending;
    const ttl = decision.allowed ? this.#allowTtl : this.#denyTtl;
    if (ttl > 0) this.#cache.set(key, decision, { ttl });
    return decision;
  }

  async #ask(user: RemoteUser, attributes: AccessAttributes): Promise<AccessDecision> {
    const review = await this.#api.createSubjectAccessReview({
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: { user: user.name, groups: user.groups, extra: user.extra, ...attributes },
      },
    });
    const status = review.status;
    return { allowed: status?.allowed === true && status.denied !== true, reason: status?.reason };
  }
}
