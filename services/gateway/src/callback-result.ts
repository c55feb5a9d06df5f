import type { CursorRunnerResult } from '@telegram-receiver/core';

/** The outcome of {@link normalizeCallback}: the result, or why the body is not a callback. */
export type NormalizedCallback = { ok: true; result: CursorRunnerResult } | { ok: false; error: string };

const MAX_REQUEST_ID = 200;
const PRINTABLE = /^[\x20-\x7e]+$/;

/**
 * Turn a cursor-runner callback body (camelCase or snake_case) into a {@link CursorRunnerResult},
 * following the seed system's rules exactly: `x || y || default` fallbacks, and `success` true for
 * `true | "true" | 1 | "1"`, false for `false | "false" | 0 | "0" | null | undefined`, else truthiness.
 * @see ../../../shared/reference/seed-contract.md §1.6, §2.4
 */
export function normalizeCallback(body: unknown): NormalizedCallback {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, error: 'body must be a JSON object' };
  }
  const b = body as Record<string, unknown>;
  const requestId = own(b, 'requestId') || own(b, 'request_id');
  if (!requestId) return { ok: false, error: 'request_id is required' };
  if (typeof requestId !== 'string' || requestId.length > MAX_REQUEST_ID || !PRINTABLE.test(requestId)) {
    return {
      ok: false,
      error: `request_id must be a string of at most ${MAX_REQUEST_ID} printable characters`,
    };
  }
  const result: CursorRunnerResult = {
    requestId,
    success: toSuccess(own(b, 'success')),
    iterations: toNumber(own(b, 'iterations') || 0, 0),
    maxIterations: toNumber(own(b, 'maxIterations') || own(b, 'max_iterations') || 25, 25),
    output: toText(own(b, 'output') || ''),
    error: toNullableText(own(b, 'error')),
    exitCode: toNumber(own(b, 'exitCode') || own(b, 'exit_code') || 0, 0),
  };
  const repository = own(b, 'repository');
  if (typeof repository === 'string') result.repository = repository;
  const branchName = own(b, 'branchName') || own(b, 'branch_name');
  if (typeof branchName === 'string') result.branchName = branchName;
  const duration = own(b, 'duration');
  if (typeof duration === 'string' || typeof duration === 'number') result.duration = String(duration);
  const timestamp = own(b, 'timestamp');
  if (typeof timestamp === 'string') result.timestamp = timestamp;
  return { ok: true, result };
}

/** Own properties only: a body key such as `__proto__` or `constructor` never reaches the prototype. */
function own(b: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(b, key) ? b[key] : undefined;
}

function toSuccess(v: unknown): boolean {
  if (v === true || v === 'true' || v === 1 || v === '1') return true;
  if (v === false || v === 'false' || v === 0 || v === '0' || v === null || v === undefined) return false;
  return Boolean(v);
}

function toNumber(v: unknown, fallback: number): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : fallback;
}

function toText(v: unknown): string {
  return typeof v === 'string' ? v : (JSON.stringify(v) ?? '');
}

function toNullableText(v: unknown): string | null {
  return v === undefined || v === null ? null : toText(v);
}
