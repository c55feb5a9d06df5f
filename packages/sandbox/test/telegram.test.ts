import { FormData, request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseOggPages } from '../src/audio/ogg.ts';
import { buildOpusVoice, readOpusInfo } from '../src/audio/opus.ts';
import { startSandbox, type Sandbox } from '../src/index.ts';
import { BOT_ID, TOKEN, call, capturingLogger, download } from './helpers.ts';

let sandbox: Sandbox;
const captured = capturingLogger();
const tg = (method: string) => `${sandbox.url}/bot${TOKEN}/${method}`;

beforeAll(async () => {
  sandbox = await startSandbox({ logger: captured.logger });
});
afterAll(async () => {
  await sandbox.close();
});
beforeEach(() => sandbox.reset());

describe('/bot<token>/<method>', () => {
  it('should answer getMe for any well-formed token, with the token digits as the bot id', async () => {
    const res = await call(tg('getMe'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      ok: true,
      result: {
        id: Number(BOT_ID),
        is_bot: true,
        first_name: 'Sandbox Bot',
        username: `sandbox_${BOT_ID}_bot`,
      },
    });
    expect(sandbox.calls({ method: 'getMe' })[0]).toMatchObject({
      service: 'telegram',
      botId: BOT_ID,
      status: 200,
    });
  });

  it('should answer 401 Unauthorized for a malformed token', async () => {
    for (const bad of ['nodigits:abc', '123456', '123:ab$cd', '', '%E0%A4%A']) {
      const res = await call(`${sandbox.url}/bot${bad}/getMe`);
      expect(res.status, bad).toBe(401);
      expect(res.body).toEqual({ ok: false, error_code: 401, description: 'Unauthorized' });
    }
  });

  it('should answer 404 Not Found for an unknown method and match known ones case-insensitively', async () => {
    expect((await call(tg('launchRockets'))).body).toEqual({
      ok: false,
      error_code: 404,
      description: 'Not Found',
    });
    expect((await call(tg('getme'))).body.ok).toBe(true);
    expect(sandbox.calls({ method: 'getMe' })).toHaveLength(1);
  });

  it('should keep serving after a malformed JSON body (400 envelope)', async () => {
    const res = await call(tg('sendMessage'), {
      body: '{"chat_id": 1,',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(res.body.ok).toBe(false);
    expect(res.body.error_code).toBe(400);
    expect((await call(tg('getMe'))).status).toBe(200);
  });

  it('should refuse a JSON body that is not an object', async () => {
    const res = await call(tg('sendMessage'), {
      body: '[1,2]',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
  });

  it('should answer 413 for a body over the upload limit without falling over', async () => {
    const res = await call(tg('sendMessage'), {
      body: Buffer.alloc(52 * 1024 * 1024, 0x61),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    }).catch((err: Error) => ({ status: -1, body: err.message }));
    // The server may answer 413 or close the socket while the client still sends; either way it lives.
    expect([413, -1]).toContain(res.status);
    expect((await call(tg('getMe'))).status).toBe(200);
  });
});

describe('sendMessage', () => {
  it('should return a Message with message_id increasing per chat, from JSON, form and query parameters', async () => {
    const a1 = await call(tg('sendMessage'), { json: { chat_id: 1001, text: 'first' } });
    const a2 = await call(tg('sendMessage'), {
      body: 'chat_id=1001&text=second',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const b1 = await call(`${tg('sendMessage')}?chat_id=-1002&text=${encodeURIComponent('group hello')}`);
    expect(a1.body.result).toMatchObject({
      message_id: 1,
      chat: { id: 1001, type: 'private' },
      text: 'first',
      from: { is_bot: true },
    });
    expect(a2.body.result.message_id).toBe(2);
    expect(b1.body.result).toMatchObject({
      message_id: 1,
      chat: { id: -1002, type: 'group' },
      text: 'group hello',
    });
    expect(sandbox.calls({ method: 'sendMessage', chatId: 1001 }).map(c => c.body)).toEqual([
      { chat_id: 1001, text: 'first' },
      { chat_id: '1001', text: 'second' },
    ]);
  });

  it('should refuse a missing chat_id, a missing or blank text, and an unknown chat form', async () => {
    expect((await call(tg('sendMessage'), { json: { text: 'x' } })).body).toEqual({
      ok: false,
      error_code: 400,
      description: 'Bad Request: chat_id is empty',
    });
    expect((await call(tg('sendMessage'), { json: { chat_id: 1 } })).body.description).toBe(
      'Bad Request: message text is empty',
    );
    expect((await call(tg('sendMessage'), { json: { chat_id: 1, text: '   ' } })).body.description).toBe(
      'Bad Request: message text is empty',
    );
    expect(
      (await call(tg('sendMessage'), { json: { chat_id: 'not a chat', text: 'x' } })).body.description,
    ).toBe('Bad Request: chat not found');
  });

  it('should accept 4096 characters and refuse 4097', async () => {
    expect((await call(tg('sendMessage'), { json: { chat_id: 1, text: 'a'.repeat(4096) } })).status).toBe(
      200,
    );
    const res = await call(tg('sendMessage'), { json: { chat_id: 1, text: 'a'.repeat(4097) } });
    expect(res.status).toBe(400);
    expect(res.body.description).toBe('Bad Request: message is too long');
  });

  it('should count the length after HTML entities are parsed', async () => {
    const text = `<b>${'&amp;'.repeat(4096)}</b>`;
    const res = await call(tg('sendMessage'), { json: { chat_id: 1, text, parse_mode: 'HTML' } });
    expect(res.status).toBe(200);
    expect(res.body.result.text).toBe('&'.repeat(4096));
  });

  it('should accept Telegram HTML and return the text without tags', async () => {
    const text =
      '<b>bold</b> <i>it</i> <u>u</u> <s>s</s> <tg-spoiler>sp</tg-spoiler> <span class="tg-spoiler">sp2</span> ' +
      '<a href="https://example.com/?a=1&amp;b=2">link</a> <code>x &lt; y</code> <pre><code class="language-ts">let a;</code></pre> ' +
      '<blockquote expandable>q</blockquote> a & b &#33; &#x21; &nbsp;';
    const res = await call(tg('sendMessage'), { json: { chat_id: 1, text, parse_mode: 'HTML' } });
    expect(res.status).toBe(200);
    expect(res.body.result.text).toBe('bold it u s sp sp2 link x < y let a; q a & b ! ! &nbsp;');
  });

  it('should refuse unbalanced, unknown and malformed HTML like Telegram does', async () => {
    const cases: [string, string][] = [
      ['<b>bold', `Can't find end tag corresponding to start tag "b"`],
      ['<b>x</i>', 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'],
      ['x</b>', 'Unexpected end tag at byte offset 1'],
      ['line<br>break', 'Unsupported start tag "br" at byte offset 4'],
      ['if a <b', 'Unclosed start tag at byte offset 5'],
      ['a < b', 'Unsupported start tag "" at byte offset 2'],
      ['<span>x</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'],
      ['<script>alert(1)</script>', 'Unsupported start tag "script" at byte offset 0'],
    ];
    for (const [text, reason] of cases) {
      const res = await call(tg('sendMessage'), { json: { chat_id: 1, text, parse_mode: 'HTML' } });
      expect(res.status, text).toBe(400);
      expect(res.body.description, text).toBe(`Bad Request: can't parse entities: ${reason}`);
    }
  });

  it('should refuse unescaped MarkdownV2 reserved characters and accept escaped ones', async () => {
    const bad = await call(tg('sendMessage'), {
      json: { chat_id: 1, text: 'Done. 1+1=2!', parse_mode: 'MarkdownV2' },
    });
    expect(bad.body.description).toBe(
      `Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'`,
    );
    const good = await call(tg('sendMessage'), {
      json: { chat_id: 1, text: '*Done*\\. 1\\+1\\=2\\! `a.b` [x](https://e.com)', parse_mode: 'MarkdownV2' },
    });
    expect(good.status).toBe(200);
    expect(good.body.result.text).toBe('Done. 1+1=2! a.b x');
    const unclosed = await call(tg('sendMessage'), {
      json: { chat_id: 1, text: '*bold', parse_mode: 'MarkdownV2' },
    });
    expect(unclosed.body.description).toBe(
      "Bad Request: can't parse entities: Can't find end of Bold entity at byte offset 0",
    );
  });

  it('should refuse an unknown parse_mode', async () => {
    const res = await call(tg('sendMessage'), { json: { chat_id: 1, text: 'x', parse_mode: 'BBCode' } });
    expect(res.body.description).toBe('Bad Request: unsupported parse_mode');
  });

  it('should accept reply_to_message_id and reply_parameters (object or JSON string)', async () => {
    const r1 = await call(tg('sendMessage'), { json: { chat_id: 7, text: 'a', reply_to_message_id: 42 } });
    expect(r1.body.result.reply_to_message).toMatchObject({ message_id: 42, chat: { id: 7 } });
    const r2 = await call(tg('sendMessage'), {
      json: { chat_id: 7, text: 'a', reply_parameters: { message_id: 43 } },
    });
    expect(r2.body.result.reply_to_message.message_id).toBe(43);
    const r3 = await call(tg('sendMessage'), {
      body: `chat_id=7&text=a&reply_parameters=${encodeURIComponent('{"message_id":44}')}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(r3.body.result.reply_to_message.message_id).toBe(44);
    const bad = await call(tg('sendMessage'), { json: { chat_id: 7, text: 'a', reply_parameters: '{oops' } });
    expect(bad.status).toBe(400);
    const badId = await call(tg('sendMessage'), {
      json: { chat_id: 7, text: 'a', reply_to_message_id: 'abc' },
    });
    expect(badId.body.description).toBe('Bad Request: invalid reply_to_message_id specified');
  });

  it('should check inline keyboard callback_data against the 64-byte limit', async () => {
    const markup = (data: string) => ({ inline_keyboard: [[{ text: 'b', callback_data: data }]] });
    expect(
      (
        await call(tg('sendMessage'), {
          json: { chat_id: 1, text: 'x', reply_markup: markup('d'.repeat(64)) },
        })
      ).status,
    ).toBe(200);
    const res = await call(tg('sendMessage'), {
      json: { chat_id: 1, text: 'x', reply_markup: markup('é'.repeat(33)) },
    });
    expect(res.body.description).toBe('Bad Request: BUTTON_DATA_INVALID');
  });
});

describe('sendChatAction', () => {
  it('should accept a known action and refuse an unknown or missing one', async () => {
    expect((await call(tg('sendChatAction'), { json: { chat_id: 1, action: 'typing' } })).body).toEqual({
      ok: true,
      result: true,
    });
    expect(
      (await call(tg('sendChatAction'), { json: { chat_id: 1, action: 'dancing' } })).body.description,
    ).toBe('Bad Request: wrong parameter action in request');
    expect((await call(tg('sendChatAction'), { json: { chat_id: 1 } })).status).toBe(400);
    expect((await call(tg('sendChatAction'), { json: { action: 'typing' } })).body.description).toBe(
      'Bad Request: chat_id is empty',
    );
  });
});

describe('sendVoice / sendAudio / sendDocument', () => {
  const voiceForm = (bytes: Buffer, extra: Record<string, string> = {}) => {
    const form = new FormData();
    form.append('chat_id', '555');
    for (const [k, v] of Object.entries(extra)) form.append(k, v);
    form.append('voice', new Blob([new Uint8Array(bytes)], { type: 'audio/ogg' }), 'reply.ogg');
    return form;
  };

  it('should record a multipart upload with filename, type, size and the OggS first bytes', async () => {
    const bytes = buildOpusVoice({ durationMs: 4000 });
    const res = await call(tg('sendVoice'), {
      body: voiceForm(bytes, { caption: '<b>reply</b>', parse_mode: 'HTML' }),
    });
    expect(res.status).toBe(200);
    expect(res.body.result).toMatchObject({
      chat: { id: 555 },
      caption: 'reply',
      voice: { mime_type: 'audio/ogg', file_size: bytes.length, duration: 4 },
    });
    const [recorded] = sandbox.calls({ method: 'sendVoice', chatId: 555 });
    expect(recorded?.body).toMatchObject({
      chat_id: '555',
      voice: {
        filename: 'reply.ogg',
        contentType: 'audio/ogg',
        size: bytes.length,
        firstBytesHex: '4f676753',
      },
    });
    // The uploaded file can be fetched back like any Telegram file.
    const file = await call(tg('getFile'), { json: { file_id: res.body.result.voice.file_id } });
    const got = await download(`${sandbox.url}/file/bot${TOKEN}/${file.body.result.file_path}`);
    expect(got.bytes.equals(bytes)).toBe(true);
  });

  it('should refuse a caption over 1024 characters and a missing voice', async () => {
    const res = await call(tg('sendVoice'), {
      body: voiceForm(buildOpusVoice(), { caption: 'c'.repeat(1025) }),
    });
    expect(res.body.description).toBe('Bad Request: message caption is too long');
    expect((await call(tg('sendVoice'), { json: { chat_id: 1 } })).body.description).toBe(
      'Bad Request: there is no voice in the request',
    );
  });

  it('should send audio and documents, and a non-audio voice upload becomes a document', async () => {
    const audio = new FormData();
    audio.append('chat_id', '9');
    audio.append('audio', new Blob([new Uint8Array(buildOpusVoice())]), 'a.ogg');
    expect((await call(tg('sendAudio'), { body: audio })).body.result.audio.file_name).toBe('a.ogg');
    const doc = new FormData();
    doc.append('chat_id', '9');
    doc.append('document', new Blob(['a long agent output'], { type: 'text/plain' }), 'output.txt');
    const sent = await call(tg('sendDocument'), { body: doc });
    expect(sent.body.result.document).toMatchObject({
      file_name: 'output.txt',
      mime_type: 'text/plain',
      file_size: 19,
    });
    const notVoice = new FormData();
    notVoice.append('chat_id', '9');
    notVoice.append('voice', new Blob(['plain text']), 'x.txt');
    expect((await call(tg('sendVoice'), { body: notVoice })).body.result.document).toBeDefined();
  });

  it('should refuse a multipart body that is not multipart', async () => {
    const res = await call(tg('sendVoice'), {
      body: 'garbage',
      headers: { 'content-type': 'multipart/form-data; boundary=xyz' },
    });
    expect(res.status).toBe(400);
  });
});

describe('getFile and /file/bot<token>/<file_path>', () => {
  it('should give a file_path whose download is a valid Ogg/Opus voice note', async () => {
    const file = await call(tg('getFile'), { json: { file_id: 'AwACAgIAAxkBAAIBZ2Voice' } });
    expect(file.body.result).toMatchObject({
      file_id: 'AwACAgIAAxkBAAIBZ2Voice',
      file_path: expect.stringMatching(/^voice\/file_\d+\.oga$/),
    });
    const got = await download(`${sandbox.url}/file/bot${TOKEN}/${file.body.result.file_path}`);
    expect(got.status).toBe(200);
    expect(got.headers['content-type']).toBe('audio/ogg');
    expect(got.bytes.subarray(0, 4).toString('latin1')).toBe('OggS');
    expect(got.bytes.length).toBe(file.body.result.file_size);
    const pages = parseOggPages(got.bytes);
    expect(pages.length).toBeGreaterThan(2);
    expect(pages.every(p => p.crcValid)).toBe(true);
    expect(readOpusInfo(got.bytes).durationSecs).toBeGreaterThan(2.9);
  });

  it('should report and stream the size of a registered 21 MB file', async () => {
    const size = 21 * 1024 * 1024;
    sandbox.registerFile({ fileId: 'big-voice', sizeBytes: size });
    const file = await call(tg('getFile'), { json: { file_id: 'big-voice' } });
    expect(file.body.result.file_size).toBe(size);
    const res = await request(`${sandbox.url}/file/bot${TOKEN}/${file.body.result.file_path}`);
    expect(res.headers['content-length']).toBe(String(size));
    let total = 0;
    let first: Buffer | undefined;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      first ??= chunk;
      total += chunk.length;
    }
    expect(total).toBe(size);
    expect(first?.subarray(0, 4).toString('latin1')).toBe('OggS');
  });

  it('should let a client stop a large download half way', async () => {
    sandbox.registerFile({ fileId: 'big-voice-2', sizeBytes: 25 * 1024 * 1024 });
    const file = await call(tg('getFile'), { json: { file_id: 'big-voice-2' } });
    const controller = new AbortController();
    const res = await request(`${sandbox.url}/file/bot${TOKEN}/${file.body.result.file_path}`, {
      signal: controller.signal,
    });
    let total = 0;
    await expect(
      (async () => {
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          total += chunk.length;
          if (total > 1024 * 1024) controller.abort();
        }
      })(),
    ).rejects.toThrow();
    expect((await call(tg('getMe'))).status).toBe(200);
  });

  it('should refuse a missing or malformed file_id', async () => {
    expect((await call(tg('getFile'), { json: {} })).body.description).toBe('Bad Request: file_id is empty');
    expect((await call(tg('getFile'), { json: { file_id: '../../etc/passwd' } })).body.description).toBe(
      'Bad Request: invalid file_id',
    );
    expect((await call(tg('getFile'), { json: { file_id: 'x'.repeat(300) } })).status).toBe(400);
  });

  it('should answer 404 for an unknown file_path and 401 for a bad token', async () => {
    expect((await download(`${sandbox.url}/file/bot${TOKEN}/voice/file_999999.oga`)).status).toBe(404);
    expect((await download(`${sandbox.url}/file/bot${TOKEN}/../../etc/passwd`)).status).toBe(404);
    expect((await download(`${sandbox.url}/file/botnope/voice/file_1.oga`)).status).toBe(401);
  });
});

describe('answerCallbackQuery', () => {
  it('should answer true, and refuse a missing id or a text over 200 characters', async () => {
    expect(
      (await call(tg('answerCallbackQuery'), { json: { callback_query_id: '4382bfdwdsb323b2d9' } })).body,
    ).toEqual({ ok: true, result: true });
    expect((await call(tg('answerCallbackQuery'), { json: {} })).status).toBe(400);
    expect(
      (await call(tg('answerCallbackQuery'), { json: { callback_query_id: 'q', text: 't'.repeat(201) } }))
        .body.description,
    ).toBe('Bad Request: MESSAGE_TOO_LONG');
  });
});

describe('setWebhook / getWebhookInfo / deleteWebhook', () => {
  it('should store the webhook per bot and report it back', async () => {
    const set = await call(tg('setWebhook'), {
      json: {
        url: 'http://127.0.0.1:3000/telegram/webhook',
        secret_token: 'Sec_ret-123',
        max_connections: 250,
        allowed_updates: ['message', 'callback_query'],
      },
    });
    expect(set.body).toEqual({ ok: true, result: true, description: 'Webhook was set' });
    const info = await call(tg('getWebhookInfo'));
    expect(info.body.result).toEqual({
      url: 'http://127.0.0.1:3000/telegram/webhook',
      has_custom_certificate: false,
      pending_update_count: 0,
      max_connections: 100,
      allowed_updates: ['message', 'callback_query'],
    });
    // Another bot has its own webhook.
    expect((await call(`${sandbox.url}/bot42:other/getWebhookInfo`)).body.result.url).toBe('');
    expect((await call(tg('getUpdates'))).status).toBe(409);
    expect((await call(tg('deleteWebhook'))).body).toEqual({
      ok: true,
      result: true,
      description: 'Webhook was deleted',
    });
    expect((await call(tg('getWebhookInfo'))).body.result).toEqual({
      url: '',
      has_custom_certificate: false,
      pending_update_count: 0,
    });
  });

  it('should read allowed_updates from a JSON string in a form body', async () => {
    await call(tg('setWebhook'), {
      body: `url=${encodeURIComponent('https://example.com/hook')}&allowed_updates=${encodeURIComponent('["message"]')}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect((await call(tg('getWebhookInfo'))).body.result.allowed_updates).toEqual(['message']);
  });

  it('should refuse bad secret tokens, a missing url, a bad URL and bad allowed_updates', async () => {
    const set = (json: object) => call(tg('setWebhook'), { json });
    expect((await set({ url: 'https://e.com/h', secret_token: 'has space' })).body.description).toBe(
      'Bad Request: secret token contains unallowed characters',
    );
    expect((await set({ url: 'https://e.com/h', secret_token: 'a'.repeat(257) })).body.description).toBe(
      'Bad Request: secret token is too long',
    );
    expect((await set({})).body.description).toBe('Bad Request: parameter "url" is required');
    expect((await set({ url: 'not a url' })).status).toBe(400);
    expect((await set({ url: 'ftp://e.com/h' })).status).toBe(400);
    expect((await set({ url: 'https://e.com/h', allowed_updates: 'message' })).status).toBe(400);
    expect((await set({ url: 'https://e.com/h', max_connections: 'many' })).status).toBe(400);
    expect((await call(tg('getWebhookInfo'))).body.result.url).toBe('');
  });
});

describe('calls', () => {
  it('should filter by service, method and chat, over the API and over HTTP', async () => {
    await call(tg('sendMessage'), { json: { chat_id: 11, text: 'a' } });
    await call(tg('sendMessage'), { json: { chat_id: 12, text: 'b' } });
    await call(tg('sendChatAction'), { json: { chat_id: 11, action: 'typing' } });
    expect(sandbox.calls({ chatId: 11 }).map(c => c.method)).toEqual(['sendMessage', 'sendChatAction']);
    const http = await call(`${sandbox.url}/sandbox/calls?service=telegram&method=sendMessage&chat_id=12`);
    expect(http.body.calls).toHaveLength(1);
    expect(http.body.calls[0]).toMatchObject({ chatId: 12, body: { text: 'b' }, status: 200 });
    expect((await call(`${sandbox.url}/sandbox/calls?chat_id=abc`)).status).toBe(400);
    expect((await call(`${sandbox.url}/sandbox/calls?service=mail`)).status).toBe(400);
    expect((await call(`${sandbox.url}/sandbox/calls`, { method: 'DELETE' })).status).toBe(204);
    expect(sandbox.calls()).toHaveLength(0);
  });

  it('should list only the calls recorded since a cursor, over the API and over HTTP', async () => {
    await call(tg('sendMessage'), { json: { chat_id: 13, text: 'a' } });
    const first = await call(`${sandbox.url}/sandbox/calls?method=sendMessage`);
    for (const text of ['b', 'c']) await call(tg('sendMessage'), { json: { chat_id: 13, text } });
    const text = (c: { body: unknown }) => (c.body as { text: string }).text;
    expect(sandbox.calls({ recordedAfter: first.body.recorded }).map(text)).toEqual(['b', 'c']);
    const next = await call(
      `${sandbox.url}/sandbox/calls?method=sendMessage&recorded_after=${first.body.recorded + 1}`,
    );
    expect(next.body.calls.map(text)).toEqual(['c']);
    expect(next.body.recorded).toBe(first.body.recorded + 2);
    expect((await call(`${sandbox.url}/sandbox/calls?recorded_after=-1`)).status).toBe(400);
  });

  it('should never log the bot token', async () => {
    await call(tg('sendMessage'), { json: { chat_id: 1, text: 'x' } });
    await call(`${sandbox.url}/file/bot${TOKEN}/voice/none.oga`);
    expect(captured.lines.length).toBeGreaterThan(0);
    expect(captured.lines.join('\n')).not.toContain(TOKEN.split(':')[1]);
  });
});
