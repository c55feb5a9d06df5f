import { request } from 'undici';
import type { SandboxState } from '../sandbox-state.ts';

const CALLBACK_TIMEOUT_MS = 30_000;

/** The URL without query or credentials, for logs (a `secret` param must never be logged). */
function loggable(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/**
 * POST a result to the receiver like cursor-runner does: the URL's `secret` param (else the
 * configured secret) moves into X-Webhook-Secret and X-Cursor-Runner-Secret, the param is removed,
 * one attempt, 30 s timeout, a failure logged and not retried. The delivery is recorded as method
 * `callback` with the status the receiver answered (0 when it could not be reached).
 */
export async function deliverCallback(state: SandboxState, target: string, body: unknown): Promise<void> {
  const at = Date.now();
  const seq = state.nextSeq();
  let url: URL | undefined;
  try {
    url = new URL(target);
  } catch {
    url = undefined;
  }
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'cursor-runner/1.0',
  };
  const secret = url?.searchParams.get('secret') ?? state.options.webhookSecret;
  url?.searchParams.delete('secret');
  if (secret) {
    headers['x-webhook-secret'] = secret;
    headers['x-cursor-runner-secret'] = secret;
  }
  let status = 0;
  const controller = new AbortController();
  const unregister = state.onClose(() => controller.abort());
  try {
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new Error('callback URL is not an http(s) URL');
    }
    const res = await request(url, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      headersTimeout: CALLBACK_TIMEOUT_MS,
      bodyTimeout: CALLBACK_TIMEOUT_MS,
      signal: controller.signal,
    });
    status = res.statusCode;
    await res.body.dump();
    if (status < 200 || status > 299) {
      state.options.logger.warn(
        { callbackUrl: loggable(url), status },
        'cursor-runner callback rejected (not retried)',
      );
    }
  } catch (err) {
    state.options.logger.warn(
      { callbackUrl: url ? loggable(url) : '(invalid)', error: (err as Error).message },
      'cursor-runner callback failed (not retried)',
    );
  } finally {
    unregister();
  }
  state.record({
    seq,
    at,
    service: 'cursor-runner',
    method: 'callback',
    ...(url ? { url: url.toString() } : {}),
    query: url ? Object.fromEntries(url.searchParams) : {},
    headers,
    body,
    status,
  });
}
