import type { UploadedFile } from '../body.ts';

/** Bot API parameters merged from the query string and the body (strings, JSON values or uploads). */
export type Params = Record<string, unknown>;

/** A Bot API refusal: becomes `{"ok":false,"error_code","description","parameters"?}`. */
export class BotApiError extends Error {
  readonly code: number;
  readonly description: string;
  readonly parameters: Record<string, unknown> | undefined;

  constructor(code: number, description: string, parameters?: Record<string, unknown>) {
    super(description);
    this.name = 'BotApiError';
    this.code = code;
    this.description = description;
    this.parameters = parameters;
  }
}

export const badRequest = (what: string): BotApiError => new BotApiError(400, `Bad Request: ${what}`);

export function isUpload(value: unknown): value is UploadedFile {
  return typeof value === 'object' && value !== null && Buffer.isBuffer((value as UploadedFile).bytes);
}

/** A parameter as text (numbers and booleans as Telegram reads them from a form). */
export function str(params: Params, name: string): string | undefined {
  const value = params[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (isUpload(value)) return undefined;
  return JSON.stringify(value);
}

/** An integer parameter; a value that is not one is refused. */
export function int(params: Params, name: string): number | undefined {
  const value = params[name];
  if (value === undefined || value === null || value === '') return undefined;
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^-?\d+$/.test(value.trim())
        ? Number(value)
        : NaN;
  if (!Number.isSafeInteger(n)) throw badRequest(`invalid ${name} specified`);
  return n;
}

/** A parameter holding JSON: an object in a JSON body, or a JSON-serialized string in a form. */
export function json(params: Params, name: string): unknown {
  const value = params[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    throw badRequest(`can't parse ${name} JSON object`);
  }
}

/** `chat_id` as Telegram reads it: an integer, or `@username` of a channel. */
export function chatIdParam(params: Params): number | string {
  const value = str(params, 'chat_id')?.trim();
  if (value === undefined || value === '') throw badRequest('chat_id is empty');
  if (/^-?\d{1,16}$/.test(value)) return Number(value);
  if (/^@[A-Za-z][A-Za-z0-9_]{3,31}$/.test(value)) return value;
  throw badRequest('chat not found');
}

/** A numeric chat id for fault matching and the record, when there is one. */
export function chatIdForRecord(params: Params): number | undefined {
  const value = str(params, 'chat_id')?.trim();
  return value !== undefined && /^-?\d{1,16}$/.test(value) ? Number(value) : undefined;
}
