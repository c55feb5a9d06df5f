import type { Span } from '@opentelemetry/api';
import { annotateActiveSpan, hashChatId, type TelegramUpdate } from '@telegram-receiver/core';

/** The update's kind: its first field besides `update_id` (`message`, `callback_query`, …). */
function updateTypeOf(update: TelegramUpdate): string {
  for (const key of Object.keys(update)) if (key !== 'update_id') return key;
  return 'unknown';
}

function chatIdOf(update: TelegramUpdate): number | undefined {
  const u = update as Record<
    string,
    { chat?: { id?: unknown }; message?: { chat?: { id?: unknown } } } | undefined
  >;
  for (const value of Object.values(u)) {
    const id = value?.chat?.id ?? value?.message?.chat?.id;
    if (typeof id === 'number') return id;
  }
  return undefined;
}

/**
 * Name the webhook's server span by its route and give it what finds the trace of an update: the
 * bot, `update_id`, the update type and a hashed chat id. Never the token, a secret or any text.
 */
export function annotateUpdateSpan(
  span: Span | undefined,
  bot: string,
  update: TelegramUpdate,
  route: string,
): void {
  // Unsampled requests (most of them at a low sampling ratio) skip the hashing altogether.
  if (span?.isRecording() !== true) return;
  const chatId = chatIdOf(update);
  annotateActiveSpan(
    {
      'http.route': route,
      'telegram.bot': bot,
      'telegram.update_id': update.update_id,
      'telegram.update_type': updateTypeOf(update),
      ...(chatId === undefined ? {} : { 'telegram.chat_id_hash': hashChatId(chatId) }),
    },
    `POST ${route}`,
    span,
  );
}
