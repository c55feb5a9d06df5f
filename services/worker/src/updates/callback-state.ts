import {
  callbackStateKey,
  legacyCallbackStateKey,
  parseCallbackState,
  type CallbackState,
  type RedisClient,
} from '@telegram-receiver/core';

export type { CallbackState };

/** The seed validated the TTL as an integer of 1–86400 s. */
const MAX_TTL_SEC = 86_400;

/**
 * Store the record, awaited (the seed did not await it, so a Redis error crashed the process or
 * lost the record silently). Throws `RangeError` for a TTL outside 1–86400 s, and the Redis error
 * when it cannot be stored: the caller must not call cursor-runner then.
 */
export async function saveCallbackState(
  redis: RedisClient,
  prefix: string,
  requestId: string,
  state: CallbackState,
  ttlSec = 3600,
): Promise<void> {
  const record = callbackStateRecord(prefix, requestId, state, ttlSec);
  await redis.set(record.key, record.value, 'EX', record.ttlSeconds);
}

/**
 * The record as key, JSON value and TTL, for a caller that stores it itself (the send ledger stores
 * it in the same round trip as the cursor step's claim). Throws `RangeError` for a TTL outside 1–86400 s.
 */
export function callbackStateRecord(
  prefix: string,
  requestId: string,
  state: CallbackState,
  ttlSec = 3600,
): { key: string; value: string; ttlSeconds: number } {
  if (!Number.isInteger(ttlSec) || ttlSec < 1 || ttlSec > MAX_TTL_SEC) {
    throw new RangeError(`callback state TTL must be an integer of 1-${MAX_TTL_SEC} seconds, got ${ttlSec}`);
  }
  return { key: callbackStateKey(prefix, requestId), value: JSON.stringify(state), ttlSeconds: ttlSec };
}

/**
 * The record, or `null` when it is missing, not JSON, or not the expected shape (treated as "request
 * not found", as the seed did). A Redis error is thrown, unlike the seed which swallowed it: the
 * callback job should be retried rather than the result dropped as unknown.
 */
export async function loadCallbackState(
  redis: RedisClient,
  prefix: string,
  requestId: string,
): Promise<CallbackState | null> {
  // The seed's key only when ours is missing: a record written before the upgrade.
  const raw =
    (await redis.get(callbackStateKey(prefix, requestId))) ??
    (await redis.get(legacyCallbackStateKey(requestId)));
  return raw === null ? null : parseCallbackState(raw);
}

/** Delete the record once the result was delivered. Returns whether it existed. */
export async function deleteCallbackState(
  redis: RedisClient,
  prefix: string,
  requestId: string,
): Promise<boolean> {
  // Two DELs, not one of both keys: the seed's unprefixed key lies outside the prefix's hash tag, so
  // on a Redis Cluster one DEL of both would fail with CROSSSLOT.
  const deleted = await Promise.all([
    redis.del(callbackStateKey(prefix, requestId)),
    redis.del(legacyCallbackStateKey(requestId)),
  ]);
  return deleted.some(n => n > 0);
}
