import type { BotConfig, Settings, TelegramFile } from '@telegram-receiver/core';

/**
 * The narrow view the processors have of their collaborators (the core clients, the settings store,
 * the lane gate). Written as structural interfaces so tests can hand in the real clients pointed at
 * the sandbox, and a processor says exactly which calls it makes.
 */

/** A file to upload (multipart). */
export interface UploadFile {
  data: Uint8Array;
  filename: string;
  contentType: string;
}

export interface TelegramPort {
  sendMessage(params: {
    chat_id: number;
    text: string;
    parse_mode?: 'HTML';
    reply_to_message_id?: number;
  }): Promise<unknown>;
  sendVoice(params: {
    chat_id: number;
    voice: UploadFile;
    caption?: string;
    reply_to_message_id?: number;
  }): Promise<unknown>;
  sendAudio(params: {
    chat_id: number;
    audio: UploadFile;
    caption?: string;
    reply_to_message_id?: number;
  }): Promise<unknown>;
  sendDocument(params: {
    chat_id: number;
    document: UploadFile;
    caption?: string;
    reply_to_message_id?: number;
  }): Promise<unknown>;
  getFile(fileId: string): Promise<TelegramFile>;
  downloadFile(filePath: string, opts: { maxBytes: number }): Promise<Uint8Array>;
  answerCallbackQuery(params: { callback_query_id: string; text?: string }): Promise<unknown>;
}

/** One Bot API client per bot token. */
export interface TelegramClients {
  get(bot: BotConfig): TelegramPort;
}

export interface CursorRunnerPort {
  iterateAsync(params: {
    id: string;
    prompt: string;
    callbackUrl: string;
    repository?: string;
    branchName?: string;
    maxIterations?: number;
  }): Promise<unknown>;
}

export interface ElevenLabsPort {
  transcribe(params: { audio: Uint8Array; filename: string; contentType: string }): Promise<{ text: string }>;
  synthesize(params: {
    text: string;
    format: 'ogg_opus' | 'mp3';
  }): Promise<{ audio: Uint8Array; contentType: string; format: 'ogg_opus' | 'mp3' }>;
}

export interface SettingsPort {
  get(): Promise<Settings>;
}
