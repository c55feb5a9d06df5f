import type { TelegramMessage, TelegramUpdate } from '@telegram-receiver/core';
import { localCommandOf, localCommandReply, type LocalCommand } from './local-commands.ts';

/** What the worker does with an update. Produced by {@link classifyUpdate}; no I/O involved. */
export type UpdateAction =
  | { kind: 'local-command'; chatId: number; messageId: number; command: LocalCommand; reply: string }
  | { kind: 'prompt'; chatId: number; messageId: number; text: string }
  | {
      kind: 'audio';
      chatId: number;
      messageId: number;
      fileId: string;
      fileName: string;
      mimeType: string;
      fileSize?: number;
    }
  | { kind: 'callback-query'; callbackQueryId: string; chatId?: number; messageId?: number; data: string }
  | { kind: 'ignored'; reason: string };

/** An audio attachment to transcribe. */
export interface AudioAttachment {
  fileId: string;
  fileName: string;
  mimeType: string;
  fileSize?: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

function sizeOf(value: unknown): { fileSize?: number } {
  return Number.isSafeInteger(value) && (value as number) >= 0 ? { fileSize: value as number } : {};
}

/**
 * The audio a message carries, by the seed's rule (seed-contract §1.4 step 1): a voice note, else an
 * audio file, else a document whose MIME type starts with `audio/`. `null` when there is none.
 */
export function audioAttachmentOf(message: TelegramMessage): AudioAttachment | null {
  const voice: unknown = message.voice;
  if (isRecord(voice) && nonEmptyString(voice.file_id)) {
    return {
      fileId: voice.file_id,
      fileName: 'voice.ogg',
      mimeType: nonEmptyString(voice.mime_type) ? voice.mime_type : 'audio/ogg',
      ...sizeOf(voice.file_size),
    };
  }
  const audio: unknown = message.audio;
  if (isRecord(audio) && nonEmptyString(audio.file_id)) {
    return {
      fileId: audio.file_id,
      fileName: nonEmptyString(audio.file_name) ? audio.file_name : 'audio.mp3',
      mimeType: nonEmptyString(audio.mime_type) ? audio.mime_type : 'audio/mpeg',
      ...sizeOf(audio.file_size),
    };
  }
  const document: unknown = message.document;
  if (
    isRecord(document) &&
    nonEmptyString(document.file_id) &&
    typeof document.mime_type === 'string' &&
    document.mime_type.toLowerCase().startsWith('audio/')
  ) {
    return {
      fileId: document.file_id,
      fileName: nonEmptyString(document.file_name) ? document.file_name : 'audio',
      mimeType: document.mime_type,
      ...sizeOf(document.file_size),
    };
  }
  return null;
}

function classifyMessage(message: unknown, kind: string): UpdateAction {
  if (!isRecord(message)) return { kind: 'ignored', reason: `${kind} is not an object` };
  const chat = message.chat;
  if (!isRecord(chat) || !Number.isSafeInteger(chat.id)) {
    return { kind: 'ignored', reason: `${kind} has no chat` };
  }
  if (!Number.isSafeInteger(message.message_id)) {
    return { kind: 'ignored', reason: `${kind} has no message_id` };
  }
  const chatId = chat.id as number;
  const messageId = message.message_id as number;
  const audio = audioAttachmentOf(message as unknown as TelegramMessage);
  if (audio) return { kind: 'audio', chatId, messageId, ...audio };
  const text = typeof message.text === 'string' ? message.text : '';
  if (text.trim() === '') return { kind: 'ignored', reason: `${kind} has no text` };
  const command = localCommandOf(text);
  if (command) return { kind: 'local-command', chatId, messageId, command, reply: localCommandReply(text) };
  return { kind: 'prompt', chatId, messageId, text };
}

/**
 * Decide what to do with an update, by the seed's dispatch (seed-contract §1.4–1.5): `message`,
 * else `edited_message` (an edit is forwarded again as a prompt), else `callback_query`; anything
 * else is ignored. Audio wins over text; `/start`, `/help`, `/status` (prefix, any case, after
 * trimming) are answered locally; blank text or a missing chat is ignored. Never throws, whatever
 * the update holds.
 */
export function classifyUpdate(update: TelegramUpdate): UpdateAction {
  if (!isRecord(update)) return { kind: 'ignored', reason: 'update is not an object' };
  if (update.message !== undefined) return classifyMessage(update.message, 'message');
  if (update.edited_message !== undefined) return classifyMessage(update.edited_message, 'edited_message');
  const cq: unknown = update.callback_query;
  if (cq !== undefined) {
    if (!isRecord(cq) || !nonEmptyString(cq.id)) {
      return { kind: 'ignored', reason: 'callback_query has no id' };
    }
    const action: UpdateAction = {
      kind: 'callback-query',
      callbackQueryId: cq.id,
      data: typeof cq.data === 'string' ? cq.data : '',
    };
    const message = cq.message;
    if (isRecord(message) && isRecord(message.chat) && Number.isSafeInteger(message.chat.id)) {
      action.chatId = message.chat.id as number;
      if (Number.isSafeInteger(message.message_id)) action.messageId = message.message_id as number;
    }
    return action;
  }
  const kinds = Object.keys(update).filter(k => k !== 'update_id');
  return {
    kind: 'ignored',
    reason: `unhandled update type: ${kinds.slice(0, 3).join(', ') || 'none'}`.slice(0, 200),
  };
}
