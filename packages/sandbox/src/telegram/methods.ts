import { createHash } from 'node:crypto';
import { looksLikeMp3 } from '../audio/mp3.ts';
import { readOpusInfo } from '../audio/opus.ts';
import type { SandboxState, StoredFile } from '../sandbox-state.ts';
import { ParseEntitiesError, UnsupportedParseModeError, plainText } from './parse-mode.ts';
import { BotApiError, badRequest, chatIdParam, int, isUpload, json, str, type Params } from './params.ts';

/** What a method answers: `result`, and sometimes a `description` next to it. */
export interface MethodResult {
  result: unknown;
  description?: string;
}

export type MethodHandler = (state: SandboxState, botId: string, params: Params) => MethodResult;

const MAX_TEXT = 4096;
const MAX_CAPTION = 1024;
const CHAT_ACTIONS = new Set([
  'typing',
  'upload_photo',
  'record_video',
  'upload_video',
  'record_voice',
  'upload_voice',
  'upload_document',
  'choose_sticker',
  'find_location',
  'record_video_note',
  'upload_video_note',
]);

const ok = (result: unknown, description?: string): MethodResult =>
  description === undefined ? { result } : { result, description };

function botUser(botId: string) {
  return {
    id: Number(botId),
    is_bot: true,
    first_name: 'Sandbox Bot',
    username: `sandbox_${botId}_bot`,
  };
}

function chatOf(chatId: number | string) {
  if (typeof chatId === 'string') {
    // A channel named by @username: give it a stable id of the channel range.
    const id =
      -1_000_000_000_000 - (createHash('sha256').update(chatId).digest().readUInt32BE(0) % 1_000_000_000);
    return { id, type: 'channel', title: chatId.slice(1), username: chatId.slice(1) };
  }
  if (chatId > 0) return { id: chatId, type: 'private', first_name: 'Sandbox User' };
  if (chatId <= -1_000_000_000_000) return { id: chatId, type: 'supergroup', title: 'Sandbox Supergroup' };
  return { id: chatId, type: 'group', title: 'Sandbox Group' };
}

function formatted(text: string, params: Params, limit: number, tooLong: string): string {
  let plain: string;
  try {
    plain = plainText(text, str(params, 'parse_mode'));
  } catch (err) {
    if (err instanceof ParseEntitiesError) throw badRequest(`can't parse entities: ${err.message}`);
    if (err instanceof UnsupportedParseModeError) throw badRequest('unsupported parse_mode');
    throw err;
  }
  // Telegram counts UTF-16 code units, like String#length.
  if (plain.length > limit) throw badRequest(tooLong);
  return plain;
}

function replyTo(params: Params, chat: ReturnType<typeof chatOf>) {
  let messageId = int(params, 'reply_to_message_id');
  const replyParameters = json(params, 'reply_parameters');
  if (replyParameters !== undefined) {
    const id = (replyParameters as { message_id?: unknown } | null)?.message_id;
    if (typeof replyParameters !== 'object' || !Number.isSafeInteger(id)) {
      throw badRequest('message to be replied not found');
    }
    messageId = id as number;
  }
  return messageId === undefined ? {} : { reply_to_message: { message_id: messageId, date: now(), chat } };
}

function checkReplyMarkup(params: Params): unknown {
  const markup = json(params, 'reply_markup');
  if (markup === undefined) return undefined;
  if (typeof markup !== 'object' || markup === null) {
    throw badRequest("can't parse reply keyboard markup JSON object");
  }
  const keyboard = (markup as { inline_keyboard?: unknown }).inline_keyboard;
  if (keyboard === undefined) return markup;
  if (!Array.isArray(keyboard) || !keyboard.every(row => Array.isArray(row))) {
    throw badRequest('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays');
  }
  for (const button of keyboard.flat() as { text?: unknown; callback_data?: unknown }[]) {
    if (typeof button?.text !== 'string' || button.text === '') {
      throw badRequest('text buttons are unallowed in the inline keyboard');
    }
    if (button.callback_data !== undefined) {
      if (typeof button.callback_data !== 'string') throw badRequest('BUTTON_DATA_INVALID');
      const bytes = Buffer.byteLength(button.callback_data, 'utf8');
      if (bytes < 1 || bytes > 64) throw badRequest('BUTTON_DATA_INVALID');
    }
  }
  return markup;
}

const now = (): number => Math.floor(Date.now() / 1000);

function newMessage(
  state: SandboxState,
  botId: string,
  chatId: number | string,
  params: Params,
  extra: object,
) {
  const chat = chatOf(chatId);
  const markup = checkReplyMarkup(params);
  return {
    message_id: state.nextMessageId(botId, chat.id),
    from: botUser(botId),
    chat,
    date: now(),
    ...replyTo(params, chat),
    ...extra,
    ...(markup === undefined ? {} : { reply_markup: markup }),
  };
}

function sendMessage(state: SandboxState, botId: string, params: Params): MethodResult {
  const chatId = chatIdParam(params);
  const text = str(params, 'text');
  if (text === undefined || text.trim() === '') throw badRequest('message text is empty');
  const plain = formatted(text, params, MAX_TEXT, 'message is too long');
  if (plain.trim() === '') throw badRequest('message text is empty');
  return ok(newMessage(state, botId, chatId, params, { text: plain }));
}

function editMessageText(_state: SandboxState, botId: string, params: Params): MethodResult {
  const chatId = chatIdParam(params);
  const messageId = int(params, 'message_id');
  if (messageId === undefined) throw badRequest('message identifier is not specified');
  const text = str(params, 'text');
  if (text === undefined || text.trim() === '') throw badRequest('message text is empty');
  const plain = formatted(text, params, MAX_TEXT, 'message is too long');
  const chat = chatOf(chatId);
  return ok({
    message_id: messageId,
    from: botUser(botId),
    chat,
    date: now(),
    edit_date: now(),
    text: plain,
  });
}

function sendChatAction(_state: SandboxState, _botId: string, params: Params): MethodResult {
  chatIdParam(params);
  const action = str(params, 'action');
  if (action === undefined || action === '') throw badRequest('parameter "action" is required');
  if (!CHAT_ACTIONS.has(action)) throw badRequest('wrong parameter action in request');
  return ok(true);
}

function mediaKind(
  file: StoredFile,
  requested: 'voice' | 'audio' | 'document',
): 'voice' | 'audio' | 'document' {
  if (requested === 'document') return 'document';
  const isOgg = file.bytes.toString('latin1', 0, 4) === 'OggS';
  if (requested === 'voice' && (isOgg || looksLikeMp3(file.bytes))) return 'voice';
  if (requested === 'audio' && (isOgg || looksLikeMp3(file.bytes))) return 'audio';
  return 'document'; // Telegram sends other formats as a document
}

function durationOf(file: StoredFile): number {
  if (file.bytes.toString('latin1', 0, 4) !== 'OggS') return 1;
  try {
    return Math.max(1, Math.round(readOpusInfo(file.bytes).durationSecs));
  } catch {
    return 1;
  }
}

function sniffMime(bytes: Buffer, declared: string): string {
  if (bytes.toString('latin1', 0, 4) === 'OggS') return 'audio/ogg';
  if (looksLikeMp3(bytes)) return 'audio/mpeg';
  return declared;
}

function sendMedia(field: 'voice' | 'audio' | 'document'): MethodHandler {
  return (state, botId, params) => {
    const chatId = chatIdParam(params);
    const input = params[field];
    let file: StoredFile;
    let fileName: string | undefined;
    if (isUpload(input)) {
      if (input.size === 0) throw badRequest(`file must be non-empty`);
      fileName = input.filename;
      file = state.registerFile(
        {
          fileId: `sandbox-${field}-${createHash('sha256').update(input.bytes).digest('base64url').slice(0, 24)}-${Date.now()}`,
          mimeType: sniffMime(input.bytes, input.contentType),
        },
        input.bytes,
      );
    } else {
      const ref = str(params, field)?.trim();
      if (ref === undefined || ref === '') throw badRequest(`there is no ${field} in the request`);
      if (ref.startsWith('attach://')) throw badRequest(`there is no ${field} in the request`);
      file = state.fileById(ref);
    }
    const caption = str(params, 'caption');
    const plainCaption =
      caption === undefined
        ? undefined
        : formatted(caption, params, MAX_CAPTION, 'message caption is too long');
    const kind = mediaKind(file, field);
    const media = {
      file_id: file.fileId,
      file_unique_id: file.fileUniqueId,
      ...(kind === 'document' ? {} : { duration: durationOf(file) }),
      ...(kind === 'voice' ? {} : { file_name: fileName ?? file.filePath.split('/').pop() }),
      mime_type: file.mimeType,
      file_size: file.sizeBytes,
    };
    return ok(
      newMessage(state, botId, chatId, params, {
        [kind]: media,
        ...(plainCaption === undefined || plainCaption === '' ? {} : { caption: plainCaption }),
      }),
    );
  };
}

function getFile(state: SandboxState, _botId: string, params: Params): MethodResult {
  const fileId = str(params, 'file_id')?.trim();
  if (fileId === undefined || fileId === '') throw badRequest('file_id is empty');
  if (fileId.length > 256 || !/^[A-Za-z0-9_-]+$/.test(fileId)) throw badRequest('invalid file_id');
  const file = state.fileById(fileId);
  return ok({
    file_id: file.fileId,
    file_unique_id: file.fileUniqueId,
    file_size: file.sizeBytes,
    file_path: file.filePath,
  });
}

function answerCallbackQuery(_state: SandboxState, _botId: string, params: Params): MethodResult {
  const id = str(params, 'callback_query_id')?.trim();
  if (id === undefined || id === '') {
    throw badRequest('query is too old and response timeout expired or query ID is invalid');
  }
  const text = str(params, 'text');
  if (text !== undefined && text.length > 200) throw badRequest('MESSAGE_TOO_LONG');
  return ok(true);
}

function setWebhook(state: SandboxState, botId: string, params: Params): MethodResult {
  const url = str(params, 'url');
  if (url === undefined) throw badRequest('parameter "url" is required');
  if (url.trim() === '') {
    const had = state.webhooks.delete(botId);
    return ok(true, had ? 'Webhook was deleted' : 'Webhook is already deleted');
  }
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    throw badRequest('invalid webhook URL specified');
  }
  // Like a local Bot API server: plain HTTP and any port are allowed, so make dev works.
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw badRequest('bad webhook: unsupported URL protocol');
  }
  const secret = str(params, 'secret_token');
  if (secret !== undefined && secret !== '') {
    if (Buffer.byteLength(secret) > 256) throw badRequest('secret token is too long');
    if (!/^[A-Za-z0-9_-]+$/.test(secret)) throw badRequest('secret token contains unallowed characters');
  }
  const requested = int(params, 'max_connections');
  // Telegram clamps rather than refuses.
  const maxConnections = requested === undefined ? 40 : Math.min(100, Math.max(1, requested));
  const allowed = json(params, 'allowed_updates');
  if (allowed !== undefined && (!Array.isArray(allowed) || !allowed.every(u => typeof u === 'string'))) {
    throw badRequest("can't parse allowed_updates JSON array");
  }
  const previous = state.webhooks.get(botId);
  state.webhooks.set(botId, {
    url: parsed.toString(),
    secretToken: secret === '' ? undefined : secret,
    maxConnections,
    allowedUpdates: (allowed as string[] | undefined) ?? previous?.allowedUpdates,
    ipAddress: str(params, 'ip_address'),
  });
  return ok(true, previous?.url === parsed.toString() ? 'Webhook is already set' : 'Webhook was set');
}

function getWebhookInfo(state: SandboxState, botId: string): MethodResult {
  const hook = state.webhooks.get(botId);
  if (!hook) return ok({ url: '', has_custom_certificate: false, pending_update_count: 0 });
  return ok({
    url: hook.url,
    has_custom_certificate: false,
    pending_update_count: 0,
    max_connections: hook.maxConnections,
    ...(hook.ipAddress === undefined ? {} : { ip_address: hook.ipAddress }),
    ...(hook.allowedUpdates === undefined ? {} : { allowed_updates: hook.allowedUpdates }),
  });
}

function deleteWebhook(state: SandboxState, botId: string): MethodResult {
  const had = state.webhooks.delete(botId);
  return ok(true, had ? 'Webhook was deleted' : 'Webhook is already deleted');
}

function getUpdates(state: SandboxState, botId: string): MethodResult {
  if (state.webhooks.has(botId)) {
    throw new BotApiError(
      409,
      "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
    );
  }
  return ok([]);
}

function deleteMessage(_state: SandboxState, _botId: string, params: Params): MethodResult {
  chatIdParam(params);
  if (int(params, 'message_id') === undefined) throw badRequest('message identifier is not specified');
  return ok(true);
}

/** Methods by lower-case name (Telegram matches method names case-insensitively). */
export const METHODS = new Map<string, { name: string; handler: MethodHandler }>(
  (
    [
      ['getMe', (_s, botId) => ok(botUser(botId))],
      ['sendMessage', sendMessage],
      ['editMessageText', editMessageText],
      ['deleteMessage', deleteMessage],
      ['sendChatAction', sendChatAction],
      ['sendVoice', sendMedia('voice')],
      ['sendAudio', sendMedia('audio')],
      ['sendDocument', sendMedia('document')],
      ['getFile', getFile],
      ['answerCallbackQuery', answerCallbackQuery],
      ['setWebhook', setWebhook],
      ['getWebhookInfo', (s, botId) => getWebhookInfo(s, botId)],
      ['deleteWebhook', (s, botId) => deleteWebhook(s, botId)],
      ['getUpdates', (s, botId) => getUpdates(s, botId)],
      ['setMyCommands', () => ok(true)],
    ] as [string, MethodHandler][]
  ).map(([name, handler]) => [name.toLowerCase(), { name, handler }]),
);
