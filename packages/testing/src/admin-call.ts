/** What the admin listener answered: its status, body text and that body parsed as JSON. */
export interface AdminAnswer {
  status: number;
  text: string;
  json: Record<string, unknown>;
}

/**
 * One call to a gateway's admin listener (`X-Admin-Secret`, JSON in and out). A string `body` is
 * sent as it is (for malformed-JSON tests); `secret: null` sends no secret header.
 */
export async function adminCall(opts: {
  /** The admin listener, e.g. `http://127.0.0.1:9201`. */
  url: string;
  secret: string | null;
  method: string;
  path: string;
  body?: unknown;
}): Promise<AdminAnswer> {
  const { body } = opts;
  const res = await fetch(`${opts.url}${opts.path}`, {
    method: opts.method,
    headers: {
      ...(opts.secret === null ? {} : { 'x-admin-secret': opts.secret }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text) as Record<string, unknown> };
}
