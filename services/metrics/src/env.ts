import { commonEnv, envPort, envPositiveInt } from '@telegram-receiver/core';
import { z } from 'zod';

/** Every environment variable the metrics service reads (documented in docs/configuration.md). */
export const metricsEnv = {
  ...commonEnv,
  OPS_PORT: envPort(9100).describe(
    'Ops listener: /metrics (Prometheus), /queues (KEDA metrics-api), /health, /ready.',
  ),
  METRICS_INTERVAL_MS: envPositiveInt(1000, 60_000).describe(
    'Time between two reads of the queues (one Redis round trip each, whatever the queue size).',
  ),
  METRICS_MAX_AGE_MS: envPositiveInt(10_000, 600_000).describe(
    'Age past which the last read is no longer served at all (while Redis is unreachable); younger, it is served with its age.',
  ),
  METRICS_API_ENABLED: z
    .stringbool()
    .default(false)
    .describe('Serve the Kubernetes External Metrics API (external.metrics.k8s.io/v1beta1) over TLS.'),
  METRICS_API_PORT: envPort(9443).describe(
    'TLS listener of the External Metrics API (the APIService points at it).',
  ),
  METRICS_TLS_CERT_FILE: z
    .string()
    .min(1)
    .default('/etc/telegram-receiver/tls/tls.crt')
    .describe(
      'PEM serving certificate of the External Metrics API (mounted Secret; re-read without a restart).',
    ),
  METRICS_TLS_KEY_FILE: z
    .string()
    .min(1)
    .default('/etc/telegram-receiver/tls/tls.key')
    .describe('PEM private key of the serving certificate.'),
  METRICS_TLS_RELOAD_MS: envPositiveInt(10_000, 3_600_000).describe(
    'How often the serving certificate files are read again for a rotation.',
  ),
  METRICS_AUTHZ_CACHE_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(300_000)
    .default(10_000)
    .describe('How long a SubjectAccessReview decision is reused (0 = ask every time).'),
  KUBECONFIG: z
    .string()
    .min(1)
    .optional()
    .describe(
      "kubeconfig for a process outside the cluster; unset = the pod's service account (in-cluster).",
    ),
};

export type MetricsConfig = z.output<z.ZodObject<typeof metricsEnv>>;
