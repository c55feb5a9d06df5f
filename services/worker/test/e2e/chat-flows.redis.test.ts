import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { callbackJobId } from '@telegram-receiver/core';
import { TEXTS } from '../../src/processors/update-processor.ts';
import { HELP_TEXT } from '../../src/updates/local-commands.ts';
import {
  WEBHOOK_SECRET,
  expectNoSecretLogged,
  messageUpdate,
  newChat,
  sentText,
  startStack,
  voiceUpdate,
  type RecordedCall,
  type Stack,
} from './stack.ts';

// The chat-facing flows of the Must-show list through real processes (redis-server, sandbox,
// gateway, worker), each asserted after the queues went idle so a late duplicate would be seen.

let stack: Stack;
let redis: Redis;

beforeAll(async () => {
  stack = await startStack();
  redis = new Redis(stack.redis.url);
}, 60_000);

afterEach(async () => {
  await stack.clearFaults();
  expect(await stack.health()).toBe(200);
});

afterAll(async () => {
  redis?.disconnect();
  if (stack) expectNoSecretLogged(stack);
  const code = await stack?.worker.stop('SIGTERM');
  await stack?.close();
  expect(code).toBe(0);
});

const bySeq = (calls: RecordedCall[]) => [...calls].sort((a, b) => a.seq - b.seq);
const botIdOf = (token: string) => token.split(':')[0];
const unescapeHtml = (html: string) =>
  html
    .replace(/<\/?[a-z][^<>]*>/g, '')
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');

async function sentTo(chat: number, method = 'sendMessage'): Promise<RecordedCall[]> {
  return bySeq(await stack.calls({ service: 'telegram', method, chatId: chat }));
}

async function iterateCalls(): Promise<RecordedCall[]> {
  return bySeq(await stack.calls({ service: 'cursor-runner', method: 'iterate-async' }));
}

async function postCallback(body: Record<string, unknown>): Promise<number> {
  const res = await request(`${stack.gatewayUrl}/cursor-runner/callback`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-webhook-secret': WEBHOOK_SECRET },
    body: JSON.stringify(body),
  });
  await res.body.dump();
  return res.statusCode;
}

describe('voice in', () => {
  it('should go getFile → download → speech-to-text → cursor-runner, in that order, with the transcript as the prompt', async () => {
    const chat = newChat();
    const fileId = `voice-chain-${chat}`;
    const transcript = `ship it ${chat}`;
    await stack.registerFile({ fileId, transcript });
    await stack.postUpdate(voiceUpdate(chat, fileId, 31));
    const [reply] = await stack.waitForSent('sendMessage', chat, 1);
    expect(sentText(reply!)).toBe(`Echo: ${transcript}`);
    expect(reply!.body.reply_to_message_id).toBe(31);
    await stack.settled();

    const getFile = (await stack.calls({ service: 'telegram', method: 'getFile' })).filter(
      c => c.body.file_id === fileId,
    );
    expect(getFile).toHaveLength(1);
    // The download is the next Telegram call of that bot after getFile (the sandbox records no chat for it).
    const download = (await stack.calls({ service: 'telegram', method: 'downloadFile' })).filter(
      c => c.seq > getFile[0]!.seq,
    );
    expect(download.length).toBeGreaterThan(0);
    expect(download[0]!.status).toBe(200);
    const stt = (await stack.calls({ service: 'elevenlabs', method: 'speech-to-text' })).filter(
      c => c.seq > download[0]!.seq,
    );
    expect(stt.length).toBeGreaterThan(0);
    expect(stt[0]!.body.model_id).toBe('scribe_v1');
    expect(stt[0]!.body.file).toBeDefined();
    const iterate = (await iterateCalls()).filter(c => c.body.prompt === transcript);
    expect(iterate).toHaveLength(1);
    expect(iterate[0]!.seq).toBeGreaterThan(stt[0]!.seq);
    expect(await sentTo(chat)).toHaveLength(1);
  });

  it('should answer an audio prompt with one OGG voice message replying to it when allow_audio_output is on', async () => {
    await stack.setSettings({ allow_audio_output: true });
    try {
      const chat = newChat();
      const fileId = `voice-out-${chat}`;
      await stack.registerFile({ fileId, transcript: 'say it back' });
      await stack.postUpdate(voiceUpdate(chat, fileId, 44));
      const [voice] = await stack.waitForSent('sendVoice', chat, 1);
      await stack.settled();
      // A multipart upload carries every field as a string.
      expect(String(voice!.body.reply_to_message_id)).toBe('44');
      expect((voice!.body.voice as { firstBytesHex: string }).firstBytesHex).toBe('4f676753');
      const tts = await stack.calls({ service: 'elevenlabs', method: 'text-to-speech' });
      expect(tts.some(c => c.body.text === 'Echo: say it back')).toBe(true);
      expect(await sentTo(chat, 'sendVoice')).toHaveLength(1);
      expect(await sentTo(chat)).toHaveLength(0);
    } finally {
      await stack.setSettings({ allow_audio_output: false });
    }
  });
});

describe('audio files and documents', () => {
  it('should transcribe an audio file and an audio document like a voice note, and leave other documents alone', async () => {
    const audioChat = newChat();
    const docChat = newChat();
    const pdfChat = newChat();
    await stack.registerFile({ fileId: `audio-${audioChat}`, transcript: `from audio ${audioChat}` });
    await stack.registerFile({ fileId: `doc-${docChat}`, transcript: `from document ${docChat}` });
    await stack.postUpdate(
      messageUpdate(
        audioChat,
        {
          audio: {
            file_id: `audio-${audioChat}`,
            file_unique_id: `ua-${audioChat}`,
            duration: 3,
            mime_type: 'audio/ogg',
            file_name: 'memo.ogg',
          },
        },
        7,
      ),
    );
    await stack.postUpdate(
      messageUpdate(
        docChat,
        {
          document: {
            file_id: `doc-${docChat}`,
            file_unique_id: `ud-${docChat}`,
            mime_type: 'audio/ogg',
            file_name: 'note.oga',
          },
        },
        8,
      ),
    );
    await stack.postUpdate(
      messageUpdate(
        pdfChat,
        {
          document: {
            file_id: `pdf-${pdfChat}`,
            file_unique_id: `up-${pdfChat}`,
            mime_type: 'application/pdf',
            file_name: 'report.pdf',
          },
        },
        9,
      ),
    );
    const [audioReply] = await stack.waitForSent('sendMessage', audioChat, 1);
    const [docReply] = await stack.waitForSent('sendMessage', docChat, 1);
    await stack.settled();
    expect(sentText(audioReply!)).toBe(`Echo: from audio ${audioChat}`);
    expect(audioReply!.body.reply_to_message_id).toBe(7);
    expect(sentText(docReply!)).toBe(`Echo: from document ${docChat}`);
    expect(docReply!.body.reply_to_message_id).toBe(8);
    const getFile = (await stack.calls({ service: 'telegram', method: 'getFile' })).map(c => c.body.file_id);
    expect(getFile).toContain(`audio-${audioChat}`);
    expect(getFile).toContain(`doc-${docChat}`);
    expect(getFile).not.toContain(`pdf-${pdfChat}`);
    expect(await sentTo(pdfChat)).toHaveLength(0);
    expect(await sentTo(audioChat)).toHaveLength(1);
    expect(await sentTo(docChat)).toHaveLength(1);
  });
});

describe('settings changed through the gateway admin API', () => {
  async function putSettings(patch: Record<string, boolean>): Promise<void> {
    const res = await request(`${stack.adminUrl}/admin/settings`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-admin-secret': WEBHOOK_SECRET },
      body: JSON.stringify(patch),
    });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
  }

  it('should reach the running worker: debug on gives the processing notice and the debug details', async () => {
    await putSettings({ debug: true });
    try {
      const chat = newChat();
      // The worker caches settings; the change message must reach it without a restart.
      await waitForDebug(chat);
      // The notice and the answer race (the sandbox calls back at once), so no order is asserted.
      const texts = (await sentTo(chat)).map(sentText);
      expect(texts).toHaveLength(2);
      expect(texts).toContain(TEXTS.processing);
      const answer = texts.find(t => t !== TEXTS.processing)!;
      expect(answer).toContain('✅ Cursor command completed successfully');
      expect(answer).toContain('📊 Iterations:');
      expect(answer).toContain(`debug me ${chat}`);
    } finally {
      await putSettings({ debug: false });
    }
  });

  async function waitForDebug(chat: number): Promise<void> {
    await stack.postUpdate(messageUpdate(chat, { text: `debug me ${chat}` }, 3));
    await stack.waitForSent('sendMessage', chat, 2);
    await stack.settled();
  }
});

describe('per-chat order', () => {
  it("should hand a chat's prompts to cursor-runner in the order posted, even behind a slow voice note, while other chats go on", async () => {
    const chat = newChat();
    const other = newChat();
    const fileId = `voice-slow-${chat}`;
    await stack.registerFile({ fileId, transcript: `first ${chat}` });
    // The voice note is slow to transcribe: without per-chat order the texts behind it would overtake it.
    await stack.fault({
      service: 'elevenlabs',
      method: 'speech-to-text',
      type: 'latency',
      ms: 1500,
      times: 1,
    });
    await stack.postUpdate(voiceUpdate(chat, fileId, 1));
    const texts = [`second ${chat}`, `third ${chat}`, `fourth ${chat}`];
    for (const [i, t] of texts.entries()) await stack.postUpdate(messageUpdate(chat, { text: t }, i + 2));
    await stack.postUpdate(messageUpdate(other, { text: '/help' }, 1));

    const [otherReply] = await stack.waitForSent('sendMessage', other, 1);
    await stack.waitForSent('sendMessage', chat, 4, 20_000);
    await stack.settled();

    const mine = (await iterateCalls()).filter(c => String(c.body.prompt).endsWith(` ${chat}`));
    expect(mine.map(c => c.body.prompt)).toEqual([`first ${chat}`, ...texts]);
    // Another chat did not wait for this one's slow voice note.
    expect(otherReply!.seq).toBeLessThan(mine[0]!.seq);
    const replies = await sentTo(chat);
    expect(replies).toHaveLength(4);
    expect(new Set(replies.map(r => r.body.reply_to_message_id))).toEqual(new Set([1, 2, 3, 4]));
    for (const r of replies) {
      expect(sentText(r)).toBe(`Echo: ${String(mine[Number(r.body.reply_to_message_id) - 1]!.body.prompt)}`);
    }
  }, 30_000);
});

describe('two bots at once', () => {
  it('should reply to each bot with its own token, even in the same chat, for local answers and cursor-runner answers', async () => {
    const [alpha, beta] = stack.bots;
    const chats = [newChat(), newChat(), newChat(), newChat()];
    // Every chat talks to both bots at once: a prompt each (answered through cursor-runner's
    // callback) and a local command each (answered by the update processor).
    await Promise.all(
      chats.flatMap(chat => [
        stack.postUpdate(messageUpdate(chat, { text: `alpha ${chat}` }, 1), alpha),
        stack.postUpdate(messageUpdate(chat, { text: `beta ${chat}` }, 2), beta),
        stack.postUpdate(messageUpdate(chat, { text: '/help' }, 3), alpha),
        stack.postUpdate(messageUpdate(chat, { text: '/status' }, 4), beta),
      ]),
    );
    for (const chat of chats) await stack.waitForSent('sendMessage', chat, 4, 20_000);
    await stack.settled();
    for (const chat of chats) {
      const replies = await sentTo(chat);
      expect(replies).toHaveLength(4);
      const byMessage = new Map(replies.map(r => [r.body.reply_to_message_id, r]));
      expect(sentText(byMessage.get(1)!)).toBe(`Echo: alpha ${chat}`);
      expect(byMessage.get(1)!.botId).toBe(botIdOf(alpha!.token));
      expect(sentText(byMessage.get(2)!)).toBe(`Echo: beta ${chat}`);
      expect(byMessage.get(2)!.botId).toBe(botIdOf(beta!.token));
      expect(sentText(byMessage.get(3)!)).toBe(HELP_TEXT);
      expect(byMessage.get(3)!.botId).toBe(botIdOf(alpha!.token));
      expect(byMessage.get(4)!.botId).toBe(botIdOf(beta!.token));
    }
  }, 30_000);
});

describe('long output', () => {
  it('should split a 10,000-character output into ≤ 4096-character messages, all replying to the prompt, that add up to it', async () => {
    const chat = newChat();
    const prompt = `long ${chat} [[long:10000]]`;
    await stack.postUpdate(messageUpdate(chat, { text: prompt }, 77));
    await stack.waitForSent('sendMessage', chat, 3);
    await stack.settled();
    const [iterate] = (await iterateCalls()).filter(c => c.body.prompt === prompt);
    const callback = (await stack.calls({ service: 'cursor-runner', method: 'callback' })).find(
      c => c.body.requestId === iterate!.body.id,
    );
    const output = String(callback!.body.output);
    expect(output).toHaveLength(10_000);

    const parts = await sentTo(chat);
    expect(parts.length).toBeGreaterThanOrEqual(3);
    expect(parts.every(p => p.status === 200)).toBe(true);
    expect(await sentTo(chat, 'sendDocument')).toHaveLength(0);
    for (const part of parts) {
      expect(sentText(part).length).toBeLessThanOrEqual(4096);
      expect(part.body.reply_to_message_id).toBe(77);
    }
    // Cut on line boundaries (the newline at each cut is dropped), in order.
    expect(unescapeHtml(parts.map(sentText).join('\n'))).toBe(output.trim());
  });
});

describe('callbacks nobody is waiting for', () => {
  it('should send nothing to anyone for unknown, malformed-looking or repeated request ids', async () => {
    const chat = newChat();
    const prompt = `once only ${chat}`;
    await stack.postUpdate(messageUpdate(chat, { text: prompt }, 5));
    await stack.waitForSent('sendMessage', chat, 1);
    await stack.settled();
    const [iterate] = (await iterateCalls()).filter(c => c.body.prompt === prompt);
    const requestId = String(iterate!.body.id);
    const sentBefore = (await stack.calls({ service: 'telegram', method: 'sendMessage' })).length;
    const completedBefore = await stack.metric(
      'telegram_receiver_jobs_total{queue="callbacks",result="completed"}',
    );

    // cursor-runner repeats its callback an hour later (the gateway's de-duplication has expired).
    await stack.queues.callbacks.remove(callbackJobId(requestId));
    const bodies = [
      { requestId, success: true, output: 'the same answer again' },
      { requestId: 'telegram-1-deadbeef', success: true, output: 'nobody asked' },
      { requestId: 'telegram-1700000000-0badf00d', success: false, error: 'failed for nobody' },
      { request_id: `telegram-${Math.floor(Date.now() / 1000)}-cafebabe`, success: true, output: 'x' },
    ];
    for (const body of bodies) expect(await postCallback(body)).toBe(200);
    await stack.settled();
    expect(await stack.metric('telegram_receiver_jobs_total{queue="callbacks",result="completed"}')).toBe(
      completedBefore + bodies.length,
    );
    expect(await stack.calls({ service: 'telegram', method: 'sendMessage' })).toHaveLength(sentBefore);
    expect(await sentTo(chat)).toHaveLength(1);
  });
});

describe('/start', () => {
  it('should be answered locally, whatever its spelling or the kind of update, and never reach cursor-runner', async () => {
    const chat = newChat();
    const variants = ['/start', '/START', '   /start   ', `/start@${stack.bots[0]!.name}bot`, '/start now'];
    for (const [i, text] of variants.entries()) {
      await stack.postUpdate(messageUpdate(chat, { text }, i + 1));
    }
    // An edited /start and a button whose data is /start are local too.
    const edited = messageUpdate(chat, { text: '/start', edit_date: Math.floor(Date.now() / 1000) }, 50);
    await stack.postUpdate({ update_id: edited.update_id, edited_message: edited.message! });
    const keysBefore = await redis.keys(`${stack.prefix}:callback:*`);
    await stack.postUpdate({
      update_id: messageUpdate(chat, {}).update_id,
      callback_query: {
        id: `cq-start-${chat}`,
        from: { id: chat, is_bot: false, first_name: 'E2E' },
        chat_instance: '-1',
        data: '/start',
        message: { message_id: 60, date: 1, chat: { id: chat, type: 'private' }, text: 'Pick' },
      },
    });
    const total = variants.length + 2;
    await stack.waitForSent('sendMessage', chat, total);
    await stack.settled();
    const replies = await sentTo(chat);
    expect(replies).toHaveLength(total);
    for (const r of replies) expect(sentText(r)).toBe(HELP_TEXT);
    expect(replies.map(r => r.body.reply_to_message_id)).toEqual([1, 2, 3, 4, 5, 50, 60]);
    expect((await iterateCalls()).filter(c => /\/start/i.test(String(c.body.prompt)))).toEqual([]);
    expect(await redis.keys(`${stack.prefix}:callback:*`)).toEqual(keysBefore);
  });
});
