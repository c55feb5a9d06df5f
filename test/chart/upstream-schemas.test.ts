// The chart's custom resources checked against the upstream projects' own schemas, taken from their Go
// modules through the module proxy (pinned in scripts/k8s/versions.env). `make k8s-e2e` also creates them
// in a real API server with these CRDs installed, which applies the same schemas server-side.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { one, renderChart, type K8sObject } from '../lib/helm.ts';
import type { UPSTREAM_CRDS } from '../lib/tools.ts';
import { goModuleDir, upstreamCrdPath } from '../lib/tools.ts';

interface Crd {
  spec: { versions: { name: string; schema: { openAPIV3Schema: object } }[] };
}

function validateAgainstCrd(object: K8sObject, kind: keyof typeof UPSTREAM_CRDS): void {
  const crd = parse(readFileSync(upstreamCrdPath(kind), 'utf8')) as Crd;
  const version = object.apiVersion.split('/')[1];
  const schema = crd.spec.versions.find(v => v.name === version)?.schema.openAPIV3Schema;
  expect(schema, `${kind} ${version} in the upstream CRD`).toBeDefined();
  // x-kubernetes-* keywords are not JSON Schema: ignored (strict: false). Unknown fields are refused
  // the way the API server prunes them: by closing every object that lists its properties.
  const close = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(close);
    if (node === null || typeof node !== 'object') return node;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = close(v);
    if (
      out.properties &&
      out.additionalProperties === undefined &&
      !out['x-kubernetes-preserve-unknown-fields']
    ) {
      out.additionalProperties = false;
    }
    return out;
  };
  const validate = new Ajv({ strict: false, allErrors: true }).compile(close(schema) as object);
  const { metadata: _metadata, ...rest } = object;
  expect(validate(rest), `${kind}: ${JSON.stringify(validate.errors, null, 1)}`).toBe(true);
}

describe('upstream schemas', () => {
  it('should render a KEDA ScaledObject that its CRD accepts', async () => {
    validateAgainstCrd(
      one(await renderChart({ autoscaling: { mode: 'keda' } }), 'ScaledObject'),
      'ScaledObject',
    );
  });

  it('should use only metadata keys the metrics-api scaler of that KEDA version reads, and all it requires', async () => {
    const so = one(await renderChart({ autoscaling: { mode: 'keda' } }), 'ScaledObject');
    const metadata = (so.spec as { triggers: { metadata: Record<string, string> }[] }).triggers[0]!.metadata;
    const source = readFileSync(
      join(goModuleDir('github.com/kedacore/keda/v2', 'KEDA_VERSION'), 'pkg/scalers/metrics_api_scaler.go'),
      'utf8',
    );
    const tags = [...source.matchAll(/keda:"name=([A-Za-z]+),\s*order=triggerMetadata([^"]*)"/g)];
    const known = new Set(tags.map(t => t[1]));
    const required = tags.filter(t => !/optional|default=/.test(t[2]!)).map(t => t[1]);
    expect(known.size).toBeGreaterThan(5);
    for (const key of Object.keys(metadata)) expect(known, `metrics-api has no '${key}'`).toContain(key);
    for (const key of required) expect(Object.keys(metadata), `metrics-api requires '${key}'`).toContain(key);
  });

  it('should render a cert-manager Certificate and Issuer their CRDs accept', async () => {
    const objects = await renderChart({ metrics: { certManager: { enabled: true } } });
    validateAgainstCrd(one(objects, 'Certificate'), 'Certificate');
    validateAgainstCrd(one(objects, 'Issuer'), 'Issuer');
  });

  it('should render a ServiceMonitor the prometheus-operator CRD accepts', async () => {
    validateAgainstCrd(
      one(await renderChart({ serviceMonitor: { enabled: true } }), 'ServiceMonitor'),
      'ServiceMonitor',
    );
  });

  it('should catch a field the upstream schema does not have (the check is not vacuous)', async () => {
    const so = one(await renderChart({ autoscaling: { mode: 'keda' } }), 'ScaledObject');
    const broken = { ...so, spec: { ...so.spec, pollingIntervall: 5 } };
    expect(() => validateAgainstCrd(broken, 'ScaledObject')).toThrow(/pollingIntervall|additional/);
  });
});

// prometheus-adapter is not served by the module proxy, so its config schema is written here from its
// Go types (kubernetes-sigs/prometheus-adapter pkg/config/config.go at 0536a5d: MetricsDiscoveryConfig,
// DiscoveryRule, ResourceMapping, GroupResource, NameMapping), closed the way its strict YAML load is.
const groupResource = {
  type: 'object',
  properties: { group: { type: 'string' }, resource: { type: 'string' } },
  required: ['resource'],
  additionalProperties: false,
};
const discoveryRule = {
  type: 'object',
  properties: {
    seriesQuery: { type: 'string', minLength: 1 },
    seriesFilters: {
      type: 'array',
      items: {
        type: 'object',
        properties: { is: { type: 'string' }, isNot: { type: 'string' } },
        additionalProperties: false,
      },
    },
    resources: {
      type: 'object',
      properties: {
        template: { type: 'string' },
        overrides: { type: 'object', additionalProperties: groupResource },
      },
      additionalProperties: false,
    },
    name: {
      type: 'object',
      properties: { matches: { type: 'string' }, as: { type: 'string' } },
      additionalProperties: false,
    },
    metricsQuery: { type: 'string' },
    labelValueReplacements: {
      type: 'array',
      items: {
        type: 'object',
        properties: { find: { type: 'string' }, replace: { type: 'string' } },
        additionalProperties: false,
      },
    },
  },
  required: ['seriesQuery'],
  additionalProperties: false,
};
const adapterConfig = {
  type: 'object',
  properties: {
    rules: { type: 'array', items: discoveryRule },
    resourceRules: { type: 'object' },
    externalRules: { type: 'array', items: discoveryRule },
  },
  additionalProperties: false,
};

describe('prometheus-adapter rules', () => {
  it('should match the adapter config types, with a metricsQuery template the adapter expands', async () => {
    const cm = one(
      await renderChart({ autoscaling: { mode: 'prometheusAdapter' } }),
      'ConfigMap',
      '-prometheus-adapter-rules',
    );
    const config = parse(cm.data!['config.yaml']!) as {
      externalRules: { metricsQuery: string; name: { as: string } }[];
    };
    const validate = new Ajv({ strict: false, allErrors: true }).compile(adapterConfig);
    expect(validate(config), JSON.stringify(validate.errors)).toBe(true);
    expect(config.externalRules.map(r => r.name.as)).toContain('telegram_receiver_queue_pending_lanes');
    for (const rule of config.externalRules) {
      expect(rule.metricsQuery).toMatch(/<<\.Series>>\{<<\.LabelMatchers>>\}/);
    }
  });
});
