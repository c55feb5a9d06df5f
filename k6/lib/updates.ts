// Realistic Telegram update bodies (full `from` and `chat`, as the Bot API sends them): text, voice,
// callback queries, spread over many chats so the per-chat lanes behave as in production.

/** A run-unique base for update ids and chat ids, so repeated runs are never deduplicated. */
export const RUN_BASE = Math.floor(Date.now() / 1000) % 1_000_000;

const TEXT =
  'Please look at the failing test in the payments service and explain why the retry budget is exhausted';

function person(chatId: number) {
  return {
    id: chatId,
    is_bot: false,
    first_name: 'Load',
    last_name: 'Test',
    username: `k6_user_${chatId}`,
    language_code: 'en',
  };
}

function chat(chatId: number) {
  return {
    id: chatId,
    first_name: 'Load',
    last_name: 'Test',
    username: `k6_user_${chatId}`,
    type: 'private',
  };
}

/** update_id unique across runs and iterations. */
export function updateId(iteration: number): number {
  return RUN_BASE * 10_000_000 + iteration;
}

/** Chat of an iteration: `chats` distinct private chats per run. */
export function chatOf(iteration: number, chats: number): number {
  return 300_000_000 + ((RUN_BASE * 7919 + iteration * 104_729) % chats);
}

export type UpdateKind = 'text' | 'voice' | 'callback_query';

/** Mostly text, some voice and button presses, as a busy agent bot sees them. */
export function kindOf(iteration: number): UpdateKind {
  const r = iteration % 20;
  return r === 0 ? 'voice' : r === 1 ? 'callback_query' : 'text';
}

export function updateBody(kind: UpdateKind, iteration: number, chatId: number): string {
  const date = Math.floor(Date.now() / 1000);
  const message = { message_id: (iteration % 1_000_000) + 1, from: person(chatId), chat: chat(chatId), date };
  if (kind === 'voice') {
    return JSON.stringify({
      update_id: updateId(iteration),
      message: {
        ...message,
        voice: {
          duration: 3,
          mime_type: 'audio/ogg',
          file_id: `k6-voice-${iteration}`,
          file_unique_id: `k6v${iteration}`,
          file_size: 9000,
        },
      },
    });
  }
  if (kind === 'callback_query') {
    return JSON.stringify({
      update_id: updateId(iteration),
      callback_query: {
        id: `${RUN_BASE}${iteration}`,
        from: person(chatId),
        message: { ...message, text: 'Choose an option' },
        chat_instance: `-${chatId}`,
        data: 'k6:noop',
      },
    });
  }
  return JSON.stringify({
    update_id: updateId(iteration),
    message: { ...message, text: `${TEXT} #${iteration}` },
  });
}
