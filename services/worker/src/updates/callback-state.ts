import type { Redis } from 'ioredis';

/**
 * What the worker remembers about a prompt sent to cursor-runner, until its callback arrives: the
 * seed's record (seed-contract §1.4 step 3, §1.7) plus the bot that must answer.
 */
export interface CallbackState {
  chat_id: number;
  message_id: number;
  prompt: string;
  original_was_audio: boolean;
  /** ISO 8601. */
  created_at: string;
  /** Bot name from the registry (whose token sends the reply). */
  bot: string;
  /** The update's trace context (W3C, as BullMQ stores it), so the callback continues that trace. */
  trace?: string;
}

/** The seed's key, without our prefix, so records stay readable by the seed's tooling. */
export function callbackStateKey(requestId: string): string {
  return `cursor_runner_callback:${requestId}`;
}

/** The seed validated the TTL as an integer of 1–86400 s. */
const MAX_TTL_SEC = 86_400;

/**
 * Store the record, awaited (the seed did not await it, so a Redis error crashed the process or
 * lost the record silently). Throws `RangeError` for a TTL outside 1–86400 s, and the Redis error
 * when it cannot be stored: the caller must not call cursor-runner then.
 */
export async function saveCallbackState(
  redis: Redis,
  requestId: string,
  state: CallbackState,
  ttlSec = 3600,
): Promise<void> {
  const record = callbackStateRecord(requestId, state, ttlSec);
  await redis.set(record.key, record.value, 'EX', record.ttlSeconds);
}

/**
 * The record as key, JSON value and TTL, for a caller that stores it itself (the send ledger stores
 * it in the same round trip as the cursor step's claim). Throws `RangeError` for a TTL outside 1–86400 s.
 */
export function callbackStateRecord(
  requestId: string,
  state: CallbackState,
  ttlSec = 3600,
): { key: string; value: string; ttlSeconds: number } {
  if (!Number.isInteger(ttlSec) || ttlSec < 1 || ttlSec > MAX_TTL_SEC) {
    throw new RangeError(`callback state TTL must be an integer of 1-${MAX_TTL_SEC} seconds, got ${ttlSec}`);
  }
  return { key: callbackStateKey(requestId), value: JSON.stringify(state), ttlSeconds: ttlSec };
}

function isCallbackState(value: unknown): value is CallbackState {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return (
    Number.isSafeInteger(v.chat_id) &&
    Number.isSafeInteger(v.message_id) &&
    typeof v.prompt === 'string' &&
    typeof v.original_was_audio === 'boolean' &&
    typeof v.created_at === 'string' &&
    typeof v.bot === 'string' &&
    v.bot !== ''
  );
}

/**
 * The record, or `null` when it is missing, not JSON, or not the expected shape (treated as "request
 * not found", as the seed did). A Redis error is thrown, unlike the seed which swallowed it: the
 * callback job should be retried rather than the result dropped as unknown.
 */
export async function loadCallbackState(redis: Redis, requestId: string): Promise<CallbackState | null> {
  const raw = await redis.get(callbackStateKey(requestId));
  if (raw === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!isCallbackState(parsed)) return null;
  const { chat_id, message_id, prompt, original_was_audio, created_at, bot, trace } = parsed;
  const state = { chat_id, message_id, prompt, original_was_audio, created_at, bot };
  return typeof trace === 'string' ? { ...state, trace } : state;
}

/** Delete the record once the result was delivered. Returns whether it existed. */
export async function deleteCallbackState(redis: Redis, requestId: string): Promise<boolean> {
  return (await redis.del(callbackStateKey(requestId))) > 0;
}
