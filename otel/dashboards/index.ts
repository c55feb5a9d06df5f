// Every dashboard, by the file name `make dashboards` writes it to in otel/grafana/dashboards/.
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { ingress } from './ingress.ts';
import { pipeline } from './pipeline.ts';
import { upstreams } from './upstreams.ts';
import { webhookHealth } from './webhook-health.ts';

export const DASHBOARDS: Record<string, () => DashboardBuilder> = {
  'ingress.json': ingress,
  'pipeline.json': pipeline,
  'upstreams.json': upstreams,
  'webhook-health.json': webhookHealth,
};
