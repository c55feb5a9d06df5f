import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEXTS } from '../../src/processors/update-processor.ts';
import { messageUpdate, newChat, sentText, startStack, voiceUpdate, type Stack } from './stack.ts';

// Build item 3: no ElevenLabs key → a clear reply, not a crash. Real processes, worker started
// without ELEVENLABS_API_KEY.

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ elevenLabs: false });
}, 60_000);

afterAll(async () => {
  const code = await stack?.worker.stop('SIGTERM');
  await stack?.close();
  expect(code).toBe(0);
});

describe('worker without ELEVENLABS_API_KEY', () => {
  it('should start, say so once in its log, answer a voice note with a clear reply and still serve text prompts', async () => {
    expect(stack.worker.lines.some(l => l.includes('ELEVENLABS_API_KEY is not set'))).toBe(true);
    await stack.setSettings({ allow_audio_output: true });
    const voiceChat = newChat();
    const textChat = newChat();
    await stack.postUpdate(voiceUpdate(voiceChat, `voice-nokey-${voiceChat}`, 3));
    await stack.postUpdate(messageUpdate(textChat, { text: `plain ${textChat}` }, 4));
    const [voiceReply] = await stack.waitForSent('sendMessage', voiceChat, 1);
    const [textReply] = await stack.waitForSent('sendMessage', textChat, 1);
    await stack.settled();
    expect(sentText(voiceReply!)).toBe(TEXTS.sttUnavailable);
    expect(voiceReply!.body.reply_to_message_id).toBe(3);
    // With audio output allowed but no key, a text prompt is still answered with text.
    expect(sentText(textReply!)).toBe(`Echo: plain ${textChat}`);
    expect(await stack.calls({ service: 'telegram', method: 'sendMessage', chatId: voiceChat })).toHaveLength(
      1,
    );
    expect(await stack.calls({ service: 'telegram', method: 'getFile' })).toHaveLength(0);
    expect(await stack.calls({ service: 'elevenlabs' })).toHaveLength(0);
    expect(
      (await stack.calls({ service: 'cursor-runner', method: 'iterate-async' })).map(c => c.body.prompt),
    ).toEqual([`plain ${textChat}`]);
    expect(await stack.health()).toBe(200);
  });
});
