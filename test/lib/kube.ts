// kubectl and helm against the control plane `make k8s-up` started (its admin kubeconfig).
import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CHART_DIR, HELM, KUBECTL } from './tools.ts';
import { endStdin } from './child-stdin.ts';
import { HelmError, type Values } from './helm.ts';

const run = promisify(execFile);

/** Where `make k8s-up` keeps its state (certificates, kubeconfigs, logs). */
export const K8S_STATE = process.env.K8S_STATE ?? join(homedir(), '.cache/telegram-receiver/k8s');
export const KUBECONFIG = join(K8S_STATE, 'admin.kubeconfig');
const env = { ...process.env, KUBECONFIG };

/** kubectl with the admin kubeconfig; rejects with kubectl's stderr. */
export async function kubectl(args: string[], input?: string): Promise<string> {
  const child = run(KUBECTL, args, { env, maxBuffer: 64 * 1024 * 1024 });
  endStdin(child.child, input ?? '');
  try {
    return (await child).stdout;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim() ?? String(err);
    throw new Error(`kubectl ${args.join(' ')}: ${stderr}`, { cause: err });
  }
}

export async function kubectlJson<T>(args: string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, '-o', 'json'])) as T;
}

/** helm with the admin kubeconfig; `values` go on stdin (they win over the files). */
export async function helm(args: string[], values: Values = {}): Promise<string> {
  const child = run(HELM, args, { env, maxBuffer: 64 * 1024 * 1024 });
  endStdin(child.child, JSON.stringify(values));
  try {
    return (await child).stdout;
  } catch (err) {
    throw new HelmError((err as { stderr?: string }).stderr?.trim() || String(err), { cause: err });
  }
}

export { CHART_DIR };
