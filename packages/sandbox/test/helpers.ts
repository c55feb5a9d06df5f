import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@telegram-receiver/core';
import { type FormData, request } from 'undici';

export const TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw_x';
export const BOT_ID = '123456789';

export interface JsonResponse<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

/** Any JSON body as a loose record, for assertions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

/** One HTTP call with undici; parses JSON answers, returns text otherwise. */
export async function call(
  url: string,
  opts: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Buffer | FormData;
    json?: unknown;
  } = {},
): Promise<JsonResponse<Json>> {
  const headers = { ...opts.headers };
  let body = opts.body;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  }
  const res = await request(url, {
    method: (opts.method ?? (body === undefined ? 'GET' : 'POST')) as 'GET',
    headers,
    ...(body === undefined ? {} : { body: body as string }),
  });
  const text = await res.body.text();
  const type = String(res.headers['content-type'] ?? '');
  return {
    status: res.statusCode,
    headers: res.headers,
    body: type.includes('json') && text !== '' ? JSON.parse(text) : text,
  };
}

/** Raw bytes of a GET. */
export async function download(
  url: string,
): Promise<{ status: number; headers: JsonResponse['headers']; bytes: Buffer }> {
  const res = await request(url);
  return { status: res.statusCode, headers: res.headers, bytes: Buffer.from(await res.body.arrayBuffer()) };
}

/** A logger whose lines are kept in memory, to prove secrets never reach a log line. */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: createLogger({ service: 'sandbox-test', level: 'debug', destination }), lines };
}
