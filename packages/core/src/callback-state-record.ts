/**
 * What the worker remembers about a prompt sent to cursor-runner, until its callback arrives: the
 * seed's record (seed-contract §1.4 step 3, §1.7) plus the bot that must answer. The worker writes
 * it before calling cursor-runner; the gateway reads it to put the callback in its chat's lane.
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

/**
 * Redis key of a prompt's callback state: under QUEUE_PREFIX, so two deployments can share one Redis
 * database, and in the queue keys' hash-tag slot on Redis Cluster.
 */
export function callbackStateKey(prefix: string, requestId: string): string {
  return `${prefix}:callback:${requestId}`;
}

/**
 * The seed's unprefixed key. Records written there before an upgrade are still read (when the
 * prefixed one is missing) and deleted, so callbacks in flight across the upgrade are answered; after
 * one state TTL (1 h) none is left, and the fallback read is never needed again.
 */
export function legacyCallbackStateKey(requestId: string): string {
  return `cursor_runner_callback:${requestId}`;
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

/** The stored record, or `null` when it is not JSON or not the expected shape ("request not found"). */
export function parseCallbackState(raw: string): CallbackState | null {
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
