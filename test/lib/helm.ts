// `helm template` / `helm install` from tests, with the values as an object (sent on stdin), and the
// rendered objects parsed.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { CHART_DIR, HELM } from './tools.ts';
import { endStdin } from './child-stdin.ts';

const run = promisify(execFile);

/** A rendered Kubernetes object (only what the tests read is typed). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: Record<string, unknown> & { template?: { spec: PodSpec } };
  data?: Record<string, string>;
  [key: string]: unknown;
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  securityContext?: Record<string, unknown>;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeMounts?: { name: string; mountPath: string }[];
}

export interface PodSpec {
  containers: Container[];
  securityContext?: Record<string, unknown>;
  automountServiceAccountToken?: boolean;
  terminationGracePeriodSeconds?: number;
  serviceAccountName?: string;
  restartPolicy?: string;
  volumes?: Record<string, unknown>[];
}

export type Values = Record<string, unknown>;

/** helm's answer when it refused to render (schema violation, `fail`, `required`). */
export class HelmError extends Error {
  override name = 'HelmError';
}

/** Values files first, then the test's own values from stdin (they win). */
function helmArgs(files: string[]): string[] {
  return [...files.flatMap(f => ['-f', f]), '-f', '-'];
}

async function helm(args: string[], values: Values): Promise<string> {
  const child = run(HELM, args, { maxBuffer: 64 * 1024 * 1024 });
  endStdin(child.child, JSON.stringify(values));
  try {
    return (await child).stdout;
  } catch (err) {
    throw new HelmError((err as { stderr?: string }).stderr?.trim() || String(err), { cause: err });
  }
}

/** Render the chart with `values` (and values files) the way `helm template` does. */
export async function renderChart(
  values: Values = {},
  opts: { files?: string[]; release?: string; namespace?: string } = {},
): Promise<K8sObject[]> {
  const out = await helm(
    [
      'template',
      opts.release ?? 'tr',
      CHART_DIR,
      '--namespace',
      opts.namespace ?? 'apps',
      ...helmArgs(opts.files ?? []),
    ],
    values,
  );
  return parseObjects(out);
}

export function parseObjects(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map(d => {
      if (d.errors.length > 0) throw new Error(`rendered YAML does not parse: ${d.errors[0]!.message}`);
      return d.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

/** The one object of `kind` whose name ends with `suffix`; throws if there is not exactly one. */
export function one(objects: K8sObject[], kind: string, suffix = ''): K8sObject {
  const found = objects.filter(o => o.kind === kind && o.metadata.name.endsWith(suffix));
  if (found.length !== 1) {
    throw new Error(
      `expected one ${kind} named *${suffix}, found ${found.map(o => o.metadata.name).join(', ') || 'none'}`,
    );
  }
  return found[0]!;
}

export function kinds(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter(o => o.kind === kind);
}

/** Every pod spec in the render (workloads and bare test pods). */
export function podSpecs(objects: K8sObject[]): { owner: K8sObject; spec: PodSpec }[] {
  return objects.flatMap(o => {
    if (o.kind === 'Pod') return [{ owner: o, spec: o.spec as unknown as PodSpec }];
    const spec = (o.spec as { template?: { spec?: PodSpec } } | undefined)?.template?.spec;
    return spec ? [{ owner: o, spec }] : [];
  });
}

export function envOf(container: Container): Record<string, string | undefined> {
  return Object.fromEntries((container.env ?? []).map(e => [e.name, e.value]));
}

export { helm as runHelm, helmArgs };
