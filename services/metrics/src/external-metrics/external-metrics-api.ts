import { Router } from '@koa/router';
import { isJobQueue, type Logger, type QueueStatePoller } from '@telegram-receiver/core';
import type { Context, Next } from 'koa';
import { QUEUE_METRICS, QUEUE_METRIC_NAMES, type QueueMetricName } from '../queue-gauges.ts';
import type { AccessAttributes, AccessReviewer } from './access-reviewer.ts';
import type { RemoteUser } from './front-proxy-authentication.ts';
import { sendStatus } from './k8s-status.ts';
import { LabelSelectorError, matchesLabels, parseLabelSelector } from './label-selector.ts';

export const EXTERNAL_METRICS_GROUP = 'external.metrics.k8s.io';
export const EXTERNAL_METRICS_VERSION = 'v1beta1';
const GROUP_VERSION = `${EXTERNAL_METRICS_GROUP}/${EXTERNAL_METRICS_VERSION}`;
const BASE = `/apis/${GROUP_VERSION}`;
// RFC 1123 label, as Kubernetes requires of namespace names.
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Options of {@link externalMetricsRoutes}. */
export interface ExternalMetricsRoutesOptions {
  collector: Pick<QueueStatePoller, 'sample'>;
  reviewer: Pick<AccessReviewer, 'review'>;
  logger: Logger;
}

/**
 * The `external.metrics.k8s.io/v1beta1` API as the HPA controller reads it (shapes of
 * k8s.io/metrics/pkg/apis/external_metrics/v1beta1 and apimachinery's discovery types): discovery,
 * one `ExternalMetricValueList` per metric with one item per queue matching `labelSelector`
 * (the namespace only scopes the access check: the queues belong to the whole release), and minimal
 * OpenAPI documents so the aggregator's OpenAPI controller finds what it looks for. Every route is
 * authorized with a SubjectAccessReview of the authenticated user (`ctx.state.user`).
 */
export function externalMetricsRoutes(opts: ExternalMetricsRoutesOptions): Router {
  const router = new Router();
  const authorize = accessCheck(opts);

  const group = {
    name: EXTERNAL_METRICS_GROUP,
    versions: [{ groupVersion: GROUP_VERSION, version: EXTERNAL_METRICS_VERSION }],
    preferredVersion: { groupVersion: GROUP_VERSION, version: EXTERNAL_METRICS_VERSION },
  };
  router.get('/apis', authorize, async function apiGroupList(ctx: Context): Promise<void> {
    ctx.body = { kind: 'APIGroupList', apiVersion: 'v1', groups: [group] };
  });
  router.get(
    `/apis/${EXTERNAL_METRICS_GROUP}`,
    authorize,
    async function apiGroup(ctx: Context): Promise<void> {
      ctx.body = { kind: 'APIGroup', apiVersion: 'v1', ...group };
    },
  );
  router.get(BASE, authorize, async function apiResourceList(ctx: Context): Promise<void> {
    ctx.body = {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: GROUP_VERSION,
      resources: QUEUE_METRIC_NAMES.map(name => ({
        name,
        singularName: '',
        namespaced: true,
        kind: 'ExternalMetricValueList',
        verbs: ['get'],
      })),
    };
  });
  router.get(`${BASE}/namespaces/:namespace/:metric`, authorize, async function metricValues(ctx: Context) {
    const metric = ctx.params.metric as QueueMetricName;
    const selector = ctx.query.labelSelector;
    if (Array.isArray(selector)) {
      sendStatus(ctx, 400, 'invalid labelSelector: given more than once; join the requirements with commas');
      return;
    }
    let requirements;
    try {
      requirements = parseLabelSelector(selector ?? '');
    } catch (err) {
      if (!(err instanceof LabelSelectorError)) throw err;
      sendStatus(ctx, 400, `invalid labelSelector: ${err.message}`);
      return;
    }
    const sample = opts.collector.sample();
    if (sample === undefined) {
      sendStatus(
        ctx,
        503,
        'the queues could not be read recently; no value is served rather than a stale one',
      );
      return;
    }
    // metav1.Time: RFC 3339 in whole seconds.
    const timestamp = new Date(Math.floor(sample.sampledAt / 1000) * 1000)
      .toISOString()
      .replace('.000Z', 'Z');
    ctx.body = {
      kind: 'ExternalMetricValueList',
      apiVersion: GROUP_VERSION,
      metadata: {},
      // The scaling signal is the job queues' only: a side queue (`notices`) has no lanes.
      items: sample.states
        .filter(s => isJobQueue(s.queue) && matchesLabels(requirements, { queue: s.queue }))
        .map(s => ({
          metricName: metric,
          metricLabels: { queue: s.queue },
          timestamp,
          value: quantity(QUEUE_METRICS[metric].value(s)),
        })),
    };
  });
  router.get('/openapi/v2', authorize, async function openapiV2(ctx: Context): Promise<void> {
    ctx.body = {
      swagger: '2.0',
      info: { title: 'telegram-receiver external metrics', version: 'v1beta1' },
      paths: {},
    };
  });
  router.get('/openapi/v3', authorize, async function openapiV3Index(ctx: Context): Promise<void> {
    ctx.body = {
      paths: { [`apis/${GROUP_VERSION}`]: { serverRelativeURL: `/openapi/v3/apis/${GROUP_VERSION}` } },
    };
  });
  router.get(
    `/openapi/v3/apis/${GROUP_VERSION}`,
    authorize,
    async function openapiV3(ctx: Context): Promise<void> {
      ctx.body = {
        openapi: '3.0.0',
        info: { title: 'telegram-receiver external metrics', version: 'v1beta1' },
        paths: {},
        components: { schemas: {} },
      };
    },
  );
  return router;
}

/** A number as a Kubernetes quantity: an integer as is, anything else in thousandths ("1500m"). */
export function quantity(value: number): string {
  if (Number.isInteger(value)) return String(value);
  const milli = Math.round(value * 1000);
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

// The SubjectAccessReview of each request: `get` on the metric (a resource of the group) in the
// namespace, or `get` on the path for discovery and OpenAPI, as kube's request-info resolver does.
function accessCheck(opts: ExternalMetricsRoutesOptions) {
  return async function authorize(ctx: Context, next: Next): Promise<void> {
    const user = ctx.state.user as RemoteUser;
    const { namespace, metric } = ctx.params as { namespace?: string; metric?: string };
    if (namespace !== undefined && !NAMESPACE.test(namespace)) {
      sendStatus(ctx, 400, `invalid namespace "${namespace.slice(0, 80)}": must be an RFC 1123 label`);
      return;
    }
    if (metric !== undefined && !(QUEUE_METRIC_NAMES as string[]).includes(metric)) {
      sendStatus(
        ctx,
        404,
        `no external metric "${metric.slice(0, 80)}"; known: ${QUEUE_METRIC_NAMES.join(', ')}`,
      );
      return;
    }
    const attributes: AccessAttributes =
      metric === undefined
        ? { nonResourceAttributes: { path: ctx.path, verb: 'get' } }
        : {
            resourceAttributes: {
              group: EXTERNAL_METRICS_GROUP,
              version: EXTERNAL_METRICS_VERSION,
              resource: metric,
              namespace,
              verb: 'get',
            },
          };
    let decision;
    try {
      decision = await opts.reviewer.review(user, attributes);
    } catch (err) {
      opts.logger.warn({ err }, 'SubjectAccessReview failed');
      sendStatus(
        ctx,
        500,
        'authorization check failed: the Kubernetes API did not answer the SubjectAccessReview',
      );
      return;
    }
    if (!decision.allowed) {
      const what =
        metric === undefined
          ? `path "${ctx.path}"`
          : `resource "${metric}" in API group "${EXTERNAL_METRICS_GROUP}" in the namespace "${namespace}"`;
      sendStatus(
        ctx,
        403,
        `forbidden: User "${user.name}" cannot get ${what}${decision.reason ? `: ${decision.reason}` : ''}`,
      );
      return;
    }
    await next();
  };
}
