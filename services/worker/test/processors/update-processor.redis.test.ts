import { describe, expect, it } from 'vitest';
import { HELP_TEXT } from '../../src/updates/local-commands.ts';
import { callbackStateKey } from '@telegram-receiver/core';
import { TEXTS } from '../../src/processors/update-processor.ts';
import { waitFor } from '@telegram-receiver/testing';
import {
  callbackQueryUpdate,
  newChatId,
  useHarnesses,
  textOf,
  textUpdate,
  voiceUpdate,
  type Harness,
} from './harness.ts';

const harness = useHarnesses();
let h: Harness | undefined;

describe('update processor: text', () => {
  it('should answer /start locally without calling cursor-runner', async () => {
    h = await harness.start();
    const chat = newChatId();
    await h.postUpdate(textUpdate(chat, '/start', 77));
    const [reply] = await h.waitForSent('sendMessage', chat, 1);
    expect(textOf(reply!)).toBe(HELP_TEXT);
    expect((reply!.body as { reply_to_message_id?: number }).reply_to_message_id).toBe(77);
    expect(h.sandbox.calls({ service: 'cursor-runner' })).toHaveLength(0);
  });

  it('should hand a prompt to cursor-runner with the seed body, keep the state, then answer and delete it', async () => {
    h = await harness.start();
    const chat = newChatId();
    const prompt = 'list the files [[delay:400]]';
    await h.postUpdate(textUpdate(chat, prompt, 41));
    const [iterate] = await waitFor(() => {
      const calls = h!.sandbox.calls({ service: 'cursor-runner', method: 'iterate-async' });
      return calls.length > 0 ? calls : undefined;
    });
    const body = iterate!.body as Record<string, unknown>;
    expect(body).toMatchObject({ repository: '', branchName: 'main', prompt, maxIterations: 25 });
    expect(String(body.id)).toMatch(/^telegram-\d+-[0-9a-f]{8}$/);
    expect(String(body.callbackUrl)).toContain('/cursor-runner/callback');
    const state = JSON.parse((await h.redis.get(callbackStateKey(h.prefix, String(body.id))))!) as Record<
      string,
      unknown
    >;
    expect(state).toMatchObject({
      chat_id: chat,
      message_id: 41,
      prompt,
      original_was_audio: false,
      bot: h.bots[0]!.name,
    });
    expect(await h.redis.ttl(callbackStateKey(h.prefix, String(body.id)))).toBeGreaterThan(3500);
    const [reply] = await h.waitForSent('sendMessage', chat, 1);
    expect(textOf(reply!)).toBe(`Echo: ${prompt}`);
    expect(reply!.body as Record<string, unknown>).toMatchObject({
      parse_mode: 'HTML',
      reply_to_message_id: 41,
    });
    await waitFor(async () => (await h!.redis.exists(callbackStateKey(h!.prefix, String(body.id)))) === 0, {
      message: 'callback state deleted',
    });
  });

  it('should send the processing notice only when debug is on', async () => {
    h = await harness.start({ settings: { debug: true } });
    const chat = newChatId();
    await h.postUpdate(textUpdate(chat, 'hello there'));
    const calls = await h.waitForSent('sendMessage', chat, 2);
    expect(calls.map(textOf)).toContain(TEXTS.processing);
  });

  it('should ignore an update with no chat or no text without sending anything', async () => {
    h = await harness.start();
    const chat = newChatId();
    await h.postUpdate({ update_id: 999_999_001, poll: { id: 'p' } });
    await h.postUpdate(textUpdate(chat, '   '));
    await h.postUpdate(textUpdate(chat, '/status'));
    await h.waitForSent('sendMessage', chat, 1);
    expect(h.sent('sendMessage', chat).map(textOf)).toEqual(["✅ I'm online and ready to help!"]);
  });

  it('should answer hostile text with escaped HTML and never forward markup unescaped', async () => {
    h = await harness.start();
    const chat = newChatId();
    const hostile = '<b>bold</b> & <script>alert(1)</script> "x"';
    await h.postUpdate(textUpdate(chat, hostile));
    const [reply] = await h.waitForSent('sendMessage', chat, 1);
    expect(textOf(reply!)).toBe(
      `Echo: ${hostile.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')}`,
    );
  });
});

describe('update processor: voice', () => {
  it('should transcribe a voice note and forward the transcript as a prompt', async () => {
    h = await harness.start();
    const chat = newChatId();
    h.sandbox.registerFile({ fileId: 'voice-1', transcript: 'what time is it' });
    await h.postUpdate(voiceUpdate(chat, 'voice-1', 55));
    const [reply] = await h.waitForSent('sendMessage', chat, 1);
    expect(textOf(reply!)).toBe('Echo: what time is it');
    expect(h.sent('getFile')).toHaveLength(1);
    expect(h.sandbox.calls({ service: 'telegram', method: 'downloadFile' })).toHaveLength(1);
    expect(h.sandbox.calls({ service: 'elevenlabs', method: 'speech-to-text' })).toHaveLength(1);
    const [iterate] = h.sandbox.calls({ service: 'cursor-runner', method: 'iterate-async' });
    expect((iterate!.body as { prompt: string }).prompt).toBe('what time is it');
  });

  it('should say speech-to-text is not configured when there is no ElevenLabs key', async () => {
    h = await harness.start({ elevenLabs: false });
    const chat = newChatId();
    await h.postUpdate(voiceUpdate(chat, 'voice-2'));
    const [reply] = await h.waitForSent('sendMessage', chat, 1);
    expect(textOf(reply!)).toBe(TEXTS.sttUnavailable);
    expect(h.sandbox.calls({ service: 'cursor-runner' })).toHaveLength(0);
  });

  it('should refuse an audio file over 20 MB with a clear reply and no download', async () => {
    h = await harness.start();
    const chat = newChatId();
    await h.postUpdate(voiceUpdate(chat, 'voice-big', 20, 21 * 1024 * 1024));
    const [reply] = await h.waitForSent('sendMessage', chat, 1);
    expect(textOf(reply!)).toBe(TEXTS.audioTooLarge);
    expect(h.sandbox.calls({ service: 'telegram', method: 'downloadFile' })).toHaveLength(0);
  });

  it('should stop a download that turns out larger than 20 MB (size not declared in the update)', async () => {
    h = await harness.start();
    const chat = newChatId();
    h.sandbox.registerFile({ fileId: 'voice-huge', sizeBytes: 21 * 1024 * 1024 });
    const update = voiceUpdate(chat, 'voice-huge');
    delete (update.message!.voice as { file_size?: number }).file_size;
    await h.postUpdate(update);
    const [reply] = await h.waitForSent('sendMessage', chat, 1);
    expect(textOf(reply!)).toBe(TEXTS.audioTooLarge);
  });

  it('should answer the seed text when the transcript is empty', async () => {
    h = await harness.start();
    const chat = newChatId();
    h.sandbox.registerFile({ fileId: 'voice-silent', transcript: '' });
    await h.postUpdate(voiceUpdate(chat, 'voice-silent'));
    const [reply] = await h.waitForSent('sendMessage', chat, 1);
    expect(textOf(reply!)).toBe(TEXTS.transcriptionEmpty);
    expect(h.sandbox.calls({ service: 'cursor-runner' })).toHaveLength(0);
  });
});

describe('update processor: callback query', () => {
  it('should answer the callback query and forward its data as a prompt', async () => {
    h = await harness.start();
    const chat = newChatId();
    await h.postUpdate(callbackQueryUpdate(chat, 'option A', 88));
    const [reply] = await h.waitForSent('sendMessage', chat, 1);
    expect(textOf(reply!)).toBe('Echo: option A');
    const answers = h.sent('answerCallbackQuery');
    expect(answers).toHaveLength(1);
    expect((answers[0]!.body as { text?: string }).text).toBe('Processing...');
  });

  it('should still forward the data when answerCallbackQuery fails', async () => {
    h = await harness.start();
    const chat = newChatId();
    h.sandbox.setFault({ service: 'telegram', method: 'answerCallbackQuery', type: 'status', status: 400 });
    await h.postUpdate(callbackQueryUpdate(chat, 'option B'));
    const [reply] = await h.waitForSent('sendMessage', chat, 1);
    expect(textOf(reply!)).toBe('Echo: option B');
  });
});

describe('update processor: per-chat order', () => {
  it('should answer several updates of one chat in the order they were posted', async () => {
    h = await harness.start();
    const chat = newChatId();
    const texts = Array.from({ length: 6 }, (_, i) => (i % 2 === 0 ? `/status ${i}` : `prompt ${i}`));
    for (const [i, text] of texts.entries()) await h.postUpdate(textUpdate(chat, text, 100 + i));
    const calls = await h.waitForSent('sendMessage', chat, 6, 20_000);
    const replyTo = calls.map(c => (c.body as { reply_to_message_id: number }).reply_to_message_id);
    // Local answers go out at once; prompt answers when cursor-runner calls back. What must hold
    // is the order in which the chat's updates were handled: cursor-runner got them in order.
    const prompts = h.sandbox.calls({ service: 'cursor-runner', method: 'iterate-async' });
    expect(prompts.map(c => (c.body as { prompt: string }).prompt)).toEqual([
      'prompt 1',
      'prompt 3',
      'prompt 5',
    ]);
    const localOrder = calls
      .filter(c => textOf(c).startsWith('✅'))
      .map(c => (c.body as { reply_to_message_id: number }).reply_to_message_id);
    expect(localOrder).toEqual([100, 102, 104]);
    expect(new Set(replyTo).size).toBe(6);
  });
});
