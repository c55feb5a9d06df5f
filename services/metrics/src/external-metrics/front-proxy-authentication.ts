import type { TLSSocket } from 'node:tls';
import type { Context, Next } from 'koa';
import type { FrontProxyConfig } from './front-proxy-config.ts';
import { sendStatus } from './k8s-status.ts';

/** The user the front proxy (kube-apiserver's aggregator) vouches for. */
export interface RemoteUser {
  name: string;
  groups: string[];
  extra: Record<string, string[]>;
}

const CLIENT_AUTH_EKU = '1.3.6.1.5.5.7.3.2';

/**
 * Authenticates as an aggregated API server must: the TLS client certificate must chain to the
 * front-proxy CA (the TLS server verifies it against that CA only), be meant for client
 * authentication, and carry one of the allowed common names; then, and only then, the user named in
 * the request headers is believed. Sets `ctx.state.user`. Anything else is 401, and 503 while the
 * configuration has not been read yet.
 */
export function frontProxyAuthentication(config: () => FrontProxyConfig | undefined) {
  return async function authenticate(ctx: Context, next: Next): Promise<void> {
    const current = config();
    if (current === undefined) {
      sendStatus(
        ctx,
        503,
        'the front-proxy authentication configuration has not been read from the Kubernetes API yet',
      );
      return;
    }
    const socket = ctx.req.socket as TLSSocket;
    if (!socket.authorized) {
      sendStatus(
        ctx,
        401,
        'Unauthorized: a client certificate signed by the front-proxy CA (requestheader-client-ca-file) is required',
      );
      return;
    }
    const cert = socket.getPeerX509Certificate();
    if (cert?.keyUsage !== undefined && !cert.keyUsage.includes(CLIENT_AUTH_EKU)) {
      sendStatus(ctx, 401, 'Unauthorized: the client certificate is not meant for client authentication');
      return;
    }
    const cn = socket.getPeerCertificate().subject?.CN;
    const commonName = Array.isArray(cn) ? cn[0] : cn;
    if (
      current.allowedNames.length > 0 &&
      (commonName === undefined || !current.allowedNames.includes(commonName))
    ) {
      sendStatus(
        ctx,
        401,
        'Unauthorized: the client certificate common name is not in requestheader-allowed-names',
      );
      return;
    }
    const headers = ctx.req.headersDistinct;
    const name = current.usernameHeaders
      .map(h => headers[h.toLowerCase()]?.find(v => v !== ''))
      .find(v => v !== undefined);
    if (name === undefined) {
      sendStatus(ctx, 401, `Unauthorized: no user in ${current.usernameHeaders.join(' / ')}`);
      return;
    }
    const groups = current.groupHeaders.flatMap(h => headers[h.toLowerCase()] ?? []);
    const extra: Record<string, string[]> = {};
    for (const prefix of current.extraHeaderPrefixes.map(p => p.toLowerCase())) {
      for (const [header, values] of Object.entries(headers)) {
        if (!header.startsWith(prefix) || values === undefined) continue;
        const key = safeDecode(header.slice(prefix.length));
        extra[key] = [...(extra[key] ?? []), ...values];
      }
    }
    ctx.state.user = { name, groups, extra } satisfies RemoteUser;
    await next();
  };
}

// Extra keys are URL-escaped by the front proxy (RFC 3986); a bad escape stays as sent.
function safeDecode(key: string): string {
  try {
    return decodeURIComponent(key);
  } catch {
    return key;
  }
}
