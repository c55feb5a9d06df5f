import { X509Certificate } from 'node:crypto';

/**
 * Who may call an aggregated API server, as kube-apiserver publishes it in the
 * `kube-system/extension-apiserver-authentication` ConfigMap: the aggregator proxies each request
 * with a client certificate signed by the front-proxy CA, and names the real user in headers.
 */
export interface FrontProxyConfig {
  /** PEM of the front-proxy client CA (`requestheader-client-ca-file`): the only CA trusted. */
  clientCA: string;
  /** Common names a front-proxy client certificate may carry; empty means any. */
  allowedNames: readonly string[];
  /** Headers naming the user, first non-empty wins. @defaultValue ['X-Remote-User'] */
  usernameHeaders: readonly string[];
  /** Headers naming the user's groups. @defaultValue ['X-Remote-Group'] */
  groupHeaders: readonly string[];
  /** Prefixes of headers carrying extra user attributes. @defaultValue ['X-Remote-Extra-'] */
  extraHeaderPrefixes: readonly string[];
}

/** The ConfigMap does not describe a usable front proxy; the message says why. */
export class FrontProxyConfigError extends Error {
  override readonly name = 'FrontProxyConfigError';
}

/** Read the ConfigMap's `data`. @throws {@link FrontProxyConfigError} */
export function parseFrontProxyConfig(data: Record<string, string> | undefined): FrontProxyConfig {
  const clientCA = data?.['requestheader-client-ca-file'];
  if (clientCA === undefined || clientCA.trim() === '') {
    throw new FrontProxyConfigError(
      'extension-apiserver-authentication has no requestheader-client-ca-file: kube-apiserver runs without --requestheader-client-ca-file, so no aggregated API can authenticate its requests',
    );
  }
  try {
    new X509Certificate(clientCA);
  } catch (err) {
    throw new FrontProxyConfigError('requestheader-client-ca-file is not a PEM certificate', { cause: err });
  }
  return {
    clientCA,
    allowedNames: stringList(data, 'requestheader-allowed-names', []),
    usernameHeaders: stringList(data, 'requestheader-username-headers', ['X-Remote-User']),
    groupHeaders: stringList(data, 'requestheader-group-headers', ['X-Remote-Group']),
    extraHeaderPrefixes: stringList(data, 'requestheader-extra-headers-prefix', ['X-Remote-Extra-']),
  };
}

// kube-apiserver writes these as JSON arrays of strings.
function stringList(data: Record<string, string> | undefined, key: string, fallback: string[]): string[] {
  const raw = data?.[key];
  if (raw === undefined || raw.trim() === '') return fallback;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new FrontProxyConfigError(`${key} is not a JSON array of strings`, { cause: err });
  }
  if (!Array.isArray(parsed) || !parsed.every(v => typeof v === 'string')) {
    throw new FrontProxyConfigError(`${key} is not a JSON array of strings`);
  }
  return parsed.length === 0 ? fallback : parsed;
}
