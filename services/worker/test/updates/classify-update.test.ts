import { describe, expect, it } from 'vitest';
import type { TelegramMessage, TelegramUpdate } from '@telegram-receiver/core';
import { audioAttachmentOf, classifyUpdate } from '../../src/updates/classify-update.ts';
import { HELP_TEXT, STATUS_TEXT } from '../../src/updates/local-commands.ts';

const chat = { id: 42, type: 'private' as const };

function message(extra: Partial<TelegramMessage> = {}): TelegramMessage {
  return { message_id: 7, date: 0, chat, ...extra };
}

function update(extra: Partial<TelegramUpdate>): TelegramUpdate {
  return { update_id: 1, ...extra };
}

describe('classifyUpdate', () => {
  it('should turn a text message into a prompt with its chat and message ids', () => {
    expect(classifyUpdate(update({ message: message({ text: 'fix the build' }) }))).toEqual({
      kind: 'prompt',
      chatId: 42,
      messageId: 7,
      text: 'fix the build',
    });
  });

  it('should forward an edited message as a prompt (the seed re-forwards edits)', () => {
    expect(
      classifyUpdate(update({ edited_message: message({ text: 'edited', edit_date: 5 }) })),
    ).toMatchObject({
      kind: 'prompt',
      text: 'edited',
    });
  });

  it('should prefer message over edited_message over callback_query', () => {
    const both = update({
      message: message({ text: 'new' }),
      edited_message: message({ text: 'old' }),
      callback_query: {
        id: 'cq',
        from: { id: 1, is_bot: false, first_name: 'a' },
        chat_instance: 'x',
        data: 'd',
      },
    });
    expect(classifyUpdate(both)).toMatchObject({ kind: 'prompt', text: 'new' });
  });

  it.each([
    ['/start', 'start', HELP_TEXT],
    ['/help', 'help', HELP_TEXT],
    ['/status', 'status', STATUS_TEXT],
    ['  /Status  ', 'status', STATUS_TEXT],
    ['/STATUSxyz', 'status', STATUS_TEXT],
    ['/start@MyBot', 'start', HELP_TEXT],
    ['/help me please', 'help', HELP_TEXT],
  ])('should answer %j locally as %s', (text, command, reply) => {
    expect(classifyUpdate(update({ message: message({ text }) }))).toEqual({
      kind: 'local-command',
      chatId: 42,
      messageId: 7,
      command,
      reply,
    });
  });

  it.each(['/stop', 'start', ' x /start', '/unknown'])(
    'should forward %j, which is not a local command',
    text => {
      expect(classifyUpdate(update({ message: message({ text }) }))).toMatchObject({ kind: 'prompt', text });
    },
  );

  it('should classify a voice note as audio with the seed defaults for name and type', () => {
    const voice = { file_id: 'v1', file_unique_id: 'u', duration: 3, file_size: 1234 };
    expect(classifyUpdate(update({ message: message({ voice }) }))).toEqual({
      kind: 'audio',
      chatId: 42,
      messageId: 7,
      fileId: 'v1',
      fileName: 'voice.ogg',
      mimeType: 'audio/ogg',
      fileSize: 1234,
    });
  });

  it('should prefer voice over audio over an audio document, and audio over text', () => {
    const voice = { file_id: 'v', file_unique_id: 'u', duration: 1 };
    const audio = {
      file_id: 'a',
      file_unique_id: 'u',
      duration: 1,
      file_name: 'song.mp3',
      mime_type: 'audio/mpeg',
    };
    const document = { file_id: 'd', file_unique_id: 'u', mime_type: 'audio/wav', file_name: 'rec.wav' };
    expect(
      classifyUpdate(update({ message: message({ voice, audio, document, text: 'hi' }) })),
    ).toMatchObject({
      fileId: 'v',
    });
    expect(classifyUpdate(update({ message: message({ audio, document, caption: 'x' }) }))).toMatchObject({
      kind: 'audio',
      fileId: 'a',
      fileName: 'song.mp3',
      mimeType: 'audio/mpeg',
    });
    expect(classifyUpdate(update({ message: message({ document }) }))).toMatchObject({
      kind: 'audio',
      fileId: 'd',
      fileName: 'rec.wav',
      mimeType: 'audio/wav',
    });
  });

  it('should not treat a non-audio document as audio', () => {
    const document = { file_id: 'd', file_unique_id: 'u', mime_type: 'application/pdf' };
    expect(classifyUpdate(update({ message: message({ document }) }))).toMatchObject({ kind: 'ignored' });
    expect(classifyUpdate(update({ message: message({ document, text: 'read this' }) }))).toMatchObject({
      kind: 'prompt',
    });
  });

  it.each([
    ['blank text', update({ message: message({ text: '   \n\t' }) })],
    ['no text', update({ message: message() })],
    [
      'a message without chat',
      update({ message: { message_id: 1, date: 0, text: 'hi' } as unknown as TelegramMessage }),
    ],
    [
      'a chat id that is not a number',
      update({ message: message({ chat: { id: '42' } as never, text: 'hi' }) }),
    ],
    [
      'a missing message_id',
      update({ message: { date: 0, chat, text: 'hi' } as unknown as TelegramMessage }),
    ],
    ['a message that is not an object', update({ message: 'hi' as unknown as TelegramMessage })],
    ['an unsupported update type', update({ channel_post: message({ text: 'x' }) })],
    ['an update with nothing in it', update({})],
    ['a callback query without id', update({ callback_query: { data: 'x' } as never })],
  ])('should ignore %s, with a reason', (_label, u) => {
    const action = classifyUpdate(u);
    expect(action.kind).toBe('ignored');
    if (action.kind === 'ignored') expect(action.reason).not.toBe('');
  });

  it('should survive hostile shapes without throwing', () => {
    const hostile: unknown[] = [
      null,
      'update',
      42,
      [],
      { update_id: 1, message: null },
      { update_id: 1, message: { chat: null } },
      { update_id: 1, message: { message_id: 1, chat: { id: 1 }, text: 5 } },
      { update_id: 1, message: { message_id: 1, chat: { id: 1 }, voice: 'x' } },
      { update_id: 1, message: { message_id: 1, chat: { id: 1 }, voice: { file_id: 7 } } },
      { update_id: 1, message: { message_id: 1, chat: { id: Number.MAX_VALUE } } },
      { update_id: 1, callback_query: [] },
      JSON.parse('{"update_id":1,"__proto__":{"message":{"text":"x"}}}'),
    ];
    for (const u of hostile) expect(() => classifyUpdate(u as TelegramUpdate)).not.toThrow();
    expect(classifyUpdate(null as unknown as TelegramUpdate).kind).toBe('ignored');
  });

  it('should keep an oversized text whole (the prompt is not ours to cut)', () => {
    const text = 'x'.repeat(100_000);
    expect(classifyUpdate(update({ message: message({ text }) }))).toMatchObject({ kind: 'prompt', text });
  });

  it('should keep a short reason for an update with many unknown kinds', () => {
    const u = update(Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`kind_${i}`, {}])));
    const action = classifyUpdate(u);
    expect(action.kind === 'ignored' && action.reason.length <= 200).toBe(true);
  });

  it('should pass a callback query with its message chat and data', () => {
    const cq = {
      id: 'cq1',
      from: { id: 5, is_bot: false, first_name: 'a' },
      chat_instance: 'ci',
      data: 'approve',
      message: message({ message_id: 9 }),
    };
    expect(classifyUpdate(update({ callback_query: cq }))).toEqual({
      kind: 'callback-query',
      callbackQueryId: 'cq1',
      chatId: 42,
      messageId: 9,
      data: 'approve',
    });
  });

  it('should pass a callback query without a message (inline) with no chat and empty data', () => {
    const cq = { id: 'cq2', from: { id: 5, is_bot: false, first_name: 'a' }, chat_instance: 'ci' };
    expect(classifyUpdate(update({ callback_query: cq }))).toEqual({
      kind: 'callback-query',
      callbackQueryId: 'cq2',
      data: '',
    });
  });
});

describe('audioAttachmentOf', () => {
  it('should return null for a text message and ignore a negative file size', () => {
    expect(audioAttachmentOf(message({ text: 'hi' }))).toBeNull();
    const voice = { file_id: 'v', file_unique_id: 'u', duration: 1, file_size: -1, mime_type: 'audio/opus' };
    expect(audioAttachmentOf(message({ voice }))).toEqual({
      fileId: 'v',
      fileName: 'voice.ogg',
      mimeType: 'audio/opus',
    });
  });
});
