// Where the pinned Kubernetes tools and upstream modules are: the same versions and paths as mk/k8s.mk
// (both read scripts/k8s/versions.env), unless the Makefile passed the paths in the environment.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const versionsFile = new URL('../../scripts/k8s/versions.env', import.meta.url);

/** The pinned versions, by their variable name (K8S_VERSION, HELM_VERSION, KEDA_VERSION, …). */
export const VERSIONS: Record<string, string> = Object.fromEntries(
  readFileSync(versionsFile, 'utf8')
    .split('\n')
    .filter(line => /^[A-Z0-9_]+=/.test(line))
    .map(line => line.split('=', 2) as [string, string]),
);

const cache = process.env.TOOLS_CACHE ?? join(homedir(), '.cache/telegram-receiver/tools');
const tool = (env: string, name: string, version: string) =>
  process.env[env] ?? join(cache, `${name}-${VERSIONS[version]}`, name);

export const HELM = tool('HELM', 'helm', 'HELM_VERSION');
export const KUBECTL = tool('KUBECTL', 'kubectl', 'K8S_VERSION');
export const CHART_DIR = new URL('../../charts/telegram-receiver/', import.meta.url).pathname;

/** The directory of a Go module in the module cache (downloaded through the module proxy on first use). */
export function goModuleDir(module: string, versionKey: string): string {
  const out = execFileSync('go', ['mod', 'download', '-json', `${module}@${VERSIONS[versionKey]}`], {
    encoding: 'utf8',
    env: { ...process.env, GOFLAGS: '-mod=mod' },
  });
  const dir = (JSON.parse(out) as { Dir?: string; Error?: string }).Dir;
  if (!dir) throw new Error(`go mod download ${module} gave no directory: ${out}`);
  return dir;
}

/** Upstream CRDs the chart's custom resources are checked against. */
export const UPSTREAM_CRDS = {
  ScaledObject: [
    'github.com/kedacore/keda/v2',
    'KEDA_VERSION',
    'config/crd/bases/keda.sh_scaledobjects.yaml',
  ],
  Certificate: [
    'github.com/cert-manager/cert-manager',
    'CERT_MANAGER_VERSION',
    'deploy/crds/cert-manager.io_certificates.yaml',
  ],
  Issuer: [
    'github.com/cert-manager/cert-manager',
    'CERT_MANAGER_VERSION',
    'deploy/crds/cert-manager.io_issuers.yaml',
  ],
  ServiceMonitor: [
    'github.com/prometheus-operator/prometheus-operator',
    'PROMETHEUS_OPERATOR_VERSION',
    'example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml',
  ],
} as const;

/** The file of an upstream CRD. */
export function upstreamCrdPath(kind: keyof typeof UPSTREAM_CRDS): string {
  const [module, versionKey, file] = UPSTREAM_CRDS[kind];
  return join(goModuleDir(module, versionKey), file);
}
