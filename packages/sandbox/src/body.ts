import type { IncomingMessage } from 'node:http';
import type { UploadedFileInfo } from './types.ts';

/** An uploaded multipart file: what is recorded plus its bytes. */
export interface UploadedFile extends UploadedFileInfo {
  bytes: Buffer;
}

/** A request body, whatever its encoding. */
export interface ParsedBody {
  kind: 'empty' | 'json' | 'form' | 'multipart';
  /** Top-level fields: JSON values, or strings for form encodings. */
  fields: Record<string, unknown>;
  files: Record<string, UploadedFile>;
}

/** A body the sandbox could not read: `status` is 400 (malformed), 413 (too large) or 415. */
export class BodyError extends Error {
  readonly status: 400 | 413 | 415;
  constructor(status: 400 | 413 | 415, message: string) {
    super(message);
    this.name = 'BodyError';
    this.status = status;
  }
}

/** Read the whole body, refusing more than `limitBytes` (checked on Content-Length and while reading). */
export async function readRawBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limitBytes) {
    throw new BodyError(413, `request body is larger than ${limitBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limitBytes) throw new BodyError(413, `request body is larger than ${limitBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Parse JSON, x-www-form-urlencoded or multipart/form-data; an empty body gives no fields. */
export async function parseBody(contentType: string | undefined, raw: Buffer): Promise<ParsedBody> {
  const type = (contentType ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
  if (raw.length === 0) return { kind: 'empty', fields: {}, files: {} };
  if (type === 'application/json' || type.endsWith('+json') || type === '') {
    let value: unknown;
    try {
      value = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      throw new BodyError(400, `body is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new BodyError(400, 'JSON body must be an object');
    }
    return { kind: 'json', fields: value as Record<string, unknown>, files: {} };
  }
  if (type === 'application/x-www-form-urlencoded') {
    return { kind: 'form', fields: Object.fromEntries(new URLSearchParams(raw.toString('utf8'))), files: {} };
  }
  if (type === 'multipart/form-data') {
    let form: FormData;
    try {
      // The platform's multipart parser (undici) rather than a hand-rolled one.
      form = await new Response(new Uint8Array(raw), {
        headers: { 'content-type': contentType ?? '' },
      }).formData();
    } catch (err) {
      throw new BodyError(400, `body is not valid multipart/form-data: ${(err as Error).message}`);
    }
    const fields: Record<string, unknown> = {};
    const files: Record<string, UploadedFile> = {};
    for (const [name, value] of form.entries()) {
      if (typeof value === 'string') {
        fields[name] = value;
      } else {
        const bytes = Buffer.from(await value.arrayBuffer());
        files[name] = {
          filename: value.name,
          contentType: value.type || 'application/octet-stream',
          size: bytes.length,
          firstBytesHex: bytes.subarray(0, 4).toString('hex'),
          ...(value.type.startsWith('text/')
            ? { textHead: bytes.subarray(0, 16_384).toString('utf8').slice(0, 4096) }
            : {}),
          bytes,
        };
      }
    }
    return { kind: 'multipart', fields, files };
  }
  throw new BodyError(415, `unsupported content type ${type}`);
}

/** The body as recorded: fields plus file descriptions without their bytes. */
export function recordedBody(body: ParsedBody): Record<string, unknown> {
  const out: Record<string, unknown> = { ...body.fields };
  for (const [name, { bytes: _bytes, ...info }] of Object.entries(body.files)) out[name] = info;
  return out;
}
