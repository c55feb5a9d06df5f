import { freePort } from '@telegram-receiver/testing';
import { describe, expect, it } from 'vitest';
import {
  ApiRejectedError,
  FileTooLargeError,
  TelegramClient,
  TelegramClientCache,
  UpstreamUnreachableError,
  type TelegramClientOptions,
} from '@telegram-receiver/core';
import { captureLogger, errorTexts, rejection, useClientTestEnv } from './fake-upstream.ts';

const TOKEN = '123456789:AAHsecret-token_value-abcdefghijklmnop';
const TOKEN_SECRET_PART = 'AAHsecret-token_value-abcdefghijklmnop';
const MESSAGE = { message_id: 7, date: 1, chat: { id: 42, type: 'private' }, text: 'hi' };
const ok = (result: unknown) => ({ status: 200, json: { ok: true, result } });

const env = useClientTestEnv();

function client(extra: Partial<TelegramClientOptions> = {}): TelegramClient {
  return new TelegramClient({
    token: TOKEN,
    baseUrl: env.upstream.url,
    agent: env.agent,
    initialDelayMs: 5,
    maxDelayMs: 20,
    ...extra,
  });
}

const json = (i: number) => JSON.parse(env.upstream.requests[i]!.body.toString()) as unknown;

describe('TelegramClient request shapes', () => {
  it('should POST JSON to /bot<token>/<method> and return result', async () => {
    env.upstream.reply(ok(MESSAGE));
    const msg = await client().sendMessage({
      chat_id: 42,
      text: 'hi',
      parse_mode: 'HTML',
      reply_to_message_id: 3,
    });
    expect(msg).toEqual(MESSAGE);
    const req = env.upstream.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe(`/bot${TOKEN}/sendMessage`);
    expect(req.headers['content-type']).toBe('application/json');
    expect(json(0)).toEqual({ chat_id: 42, text: 'hi', parse_mode: 'HTML', reply_to_message_id: 3 });
  });

  it('should send every plain method to its own path with its parameters', async () => {
    env.upstream.reply(ok(true));
    const c = client();
    await c.getMe();
    await c.sendChatAction({ chat_id: 'abc', action: 'typing' });
    await c.getFile('FILE1');
    await c.answerCallbackQuery({ callback_query_id: 'cq1', text: 'Processing...' });
    await c.setWebhook({
      url: 'https://example.test/telegram/webhook',
      secret_token: 'whsec_1',
      max_connections: 40,
      allowed_updates: ['message', 'callback_query'],
      drop_pending_updates: false,
    });
    await c.getWebhookInfo();
    await c.deleteWebhook({ drop_pending_updates: true });
    expect(env.upstream.requests.map(r => r.url.replace(`/bot${TOKEN}/`, ''))).toEqual([
      'getMe',
      'sendChatAction',
      'getFile',
      'answerCallbackQuery',
      'setWebhook',
      'getWebhookInfo',
      'deleteWebhook',
    ]);
    expect(json(1)).toEqual({ chat_id: 'abc', action: 'typing' });
    expect(json(2)).toEqual({ file_id: 'FILE1' });
    expect(json(3)).toEqual({ callback_query_id: 'cq1', text: 'Processing...' });
    expect(json(4)).toEqual({
      url: 'https://example.test/telegram/webhook',
      secret_token: 'whsec_1',
      max_connections: 40,
      allowed_updates: ['message', 'callback_query'],
      drop_pending_updates: false,
    });
    expect(json(6)).toEqual({ drop_pending_updates: true });
  });

  it('should upload voice, audio and documents as multipart with the file and fields', async () => {
    env.upstream.reply(ok(MESSAGE));
    const c = client();
    const bytes = new Uint8Array([0x4f, 0x67, 0x67, 0x53, 1, 2, 3]);
    await c.sendVoice({
      chat_id: 42,
      voice: { data: bytes, filename: 'reply.ogg', contentType: 'audio/ogg' },
      caption: 'c',
      reply_to_message_id: 9,
      duration: 3,
    });
    await c.sendAudio({ chat_id: 42, audio: { data: bytes, filename: 'a.mp3', contentType: 'audio/mpeg' } });
    await c.sendDocument({
      chat_id: 42,
      document: {
        data: new TextEncoder().encode('long output'),
        filename: 'out.txt',
        contentType: 'text/plain',
      },
      caption: 'Output',
      parse_mode: 'HTML',
    });
    const forms = await Promise.all(
      env.upstream.requests.map(r =>
        new Response(r.body, { headers: { 'content-type': r.headers['content-type']! } }).formData(),
      ),
    );
    expect(env.upstream.requests[0]!.url).toBe(`/bot${TOKEN}/sendVoice`);
    expect(env.upstream.requests[0]!.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    const voice = forms[0]!.get('voice') as File;
    expect(voice.name).toBe('reply.ogg');
    expect(voice.type).toBe('audio/ogg');
    expect(new Uint8Array(await voice.arrayBuffer())).toEqual(bytes);
    expect(forms[0]!.get('chat_id')).toBe('42');
    expect(forms[0]!.get('caption')).toBe('c');
    expect(forms[0]!.get('reply_to_message_id')).toBe('9');
    expect(forms[0]!.get('duration')).toBe('3');
    expect((forms[1]!.get('audio') as File).name).toBe('a.mp3');
    expect(forms[1]!.has('caption')).toBe(false);
    expect(await (forms[2]!.get('document') as File).text()).toBe('long output');
    expect(forms[2]!.get('parse_mode')).toBe('HTML');
  });
});

describe('TelegramClient retries', () => {
  it('should wait the 429 retry_after and then succeed', async () => {
    env.upstream.reply(
      {
        status: 429,
        json: {
          ok: false,
          error_code: 429,
          description: 'Too Many Requests: retry after 1',
          parameters: { retry_after: 1 },
        },
        headers: { 'retry-after': '1' },
      },
      ok(MESSAGE),
    );
    const started = Date.now();
    await client().sendMessage({ chat_id: 42, text: 'hi' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(env.upstream.requests).toHaveLength(2);
  });

  it('should throw a long retry_after at once with retryAfter so the job can be delayed', async () => {
    env.upstream.reply({
      status: 429,
      json: {
        ok: false,
        error_code: 429,
        description: 'Too Many Requests: retry after 30',
        parameters: { retry_after: 30 },
      },
    });
    const err = await rejection(client().sendMessage({ chat_id: 42, text: 'hi' }));
    expect(err).toBeInstanceOf(ApiRejectedError);
    expect(err).toMatchObject({ status: 429, retryAfter: 30, ambiguous: false, retryable: true });
    expect(env.upstream.requests).toHaveLength(1);
  });

  it('should take Retry-After from the header when the body has no parameters', async () => {
    env.upstream.reply({
      status: 429,
      json: { ok: false, error_code: 429, description: 'slow down' },
      headers: { 'retry-after': '60' },
    });
    const err = await rejection(client().getMe());
    expect(err).toMatchObject({ status: 429, retryAfter: 60 });
    expect(env.upstream.requests).toHaveLength(1);
  });

  it('should retry an idempotent call on an HTML 502 and on a JSON 500', async () => {
    env.upstream.reply(
      { status: 502, text: '<html>Bad Gateway</html>' },
      { status: 500, json: { ok: false, error_code: 500, description: 'Internal Server Error' } },
      ok({ id: 1, is_bot: true, first_name: 'b' }),
    );
    expect(await client().getMe()).toEqual({ id: 1, is_bot: true, first_name: 'b' });
    expect(env.upstream.requests).toHaveLength(3);
  });

  it("should retry a send on Telegram's own JSON 5xx envelope", async () => {
    env.upstream.reply(
      { status: 500, json: { ok: false, error_code: 500, description: 'Internal Server Error' } },
      ok(MESSAGE),
    );
    expect(await client().sendMessage({ chat_id: 42, text: 'hi' })).toEqual(MESSAGE);
    expect(env.upstream.requests).toHaveLength(2);
  });

  it('should give up after maxAttempts and throw the last error', async () => {
    env.upstream.reply({
      status: 500,
      json: { ok: false, error_code: 500, description: 'Internal Server Error' },
    });
    const err = await rejection(client({ maxAttempts: 3 }).sendChatAction({ chat_id: 1, action: 'typing' }));
    expect(err).toMatchObject({ status: 500, retryable: true });
    expect(env.upstream.requests).toHaveLength(3);
  });

  it('should not retry a 4xx', async () => {
    env.upstream.reply({
      status: 400,
      json: { ok: false, error_code: 400, description: 'Bad Request: chat not found' },
    });
    const err = await rejection(client().sendMessage({ chat_id: 1, text: 'x' }));
    expect(err).toMatchObject({ status: 400, description: 'Bad Request: chat not found', retryable: false });
    expect(env.upstream.requests).toHaveLength(1);
  });

  it('should expose migrate_to_chat_id as the error code', async () => {
    env.upstream.reply({
      status: 400,
      json: {
        ok: false,
        error_code: 400,
        description: 'Bad Request: group chat was upgraded to a supergroup chat',
        parameters: { migrate_to_chat_id: -1001234 },
      },
    });
    const err = await rejection(client().sendMessage({ chat_id: -5, text: 'x' }));
    expect(err).toMatchObject({ code: 'migrate_to_chat_id:-1001234' });
  });
});

describe('TelegramClient sends that may have taken effect', () => {
  it('should not repeat sendMessage after an HTML 502 and say it may have taken effect', async () => {
    env.upstream.reply({ status: 502, text: '<html><body>502 Bad Gateway</body></html>' });
    const err = await rejection(client().sendMessage({ chat_id: 42, text: 'hi' }));
    expect(err).toBeInstanceOf(ApiRejectedError);
    expect(err).toMatchObject({ status: 502, ambiguous: true, mayHaveTakenEffect: true });
    expect(env.upstream.requests).toHaveLength(1);
  });

  it('should not repeat sendMessage after a timeout', async () => {
    env.upstream.reply({ hang: true });
    const err = await rejection(client({ timeoutMs: 300 }).sendMessage({ chat_id: 42, text: 'hi' }));
    expect(err).toBeInstanceOf(UpstreamUnreachableError);
    expect(err).toMatchObject({ phase: 'timeout', mayHaveTakenEffect: true, safeToRetry: false });
    expect(env.upstream.requests).toHaveLength(1);
  });

  it('should not repeat sendVoice after the connection was reset', async () => {
    env.upstream.reply({ drop: true });
    const err = await rejection(
      client().sendVoice({
        chat_id: 42,
        voice: { data: new Uint8Array([1]), filename: 'v.ogg', contentType: 'audio/ogg' },
      }),
    );
    expect(err).toBeInstanceOf(UpstreamUnreachableError);
    expect(err).toMatchObject({ phase: 'reset', mayHaveTakenEffect: true });
    expect(env.upstream.requests).toHaveLength(1);
  });

  it('should not repeat a send whose 200 answer is not JSON', async () => {
    env.upstream.reply({ status: 200, text: 'garbage' });
    const err = await rejection(client().sendMessage({ chat_id: 42, text: 'hi' }));
    expect(err).toMatchObject({ status: 200, ambiguous: true, mayHaveTakenEffect: true, retryable: false });
    expect(env.upstream.requests).toHaveLength(1);
  });

  it('should refuse an oversized answer without buffering it', async () => {
    env.upstream.reply(ok({ ...MESSAGE, text: 'x'.repeat(5000) }));
    const err = await rejection(client({ maxResponseBytes: 1024 }).sendMessage({ chat_id: 42, text: 'hi' }));
    expect(err).toMatchObject({ ambiguous: true, description: 'answer larger than 1024 bytes' });
    expect(env.upstream.requests).toHaveLength(1);
  });

  it('should retry an idempotent call after a timeout and a reset', async () => {
    env.upstream.reply({ hang: true }, { drop: true }, ok(true));
    expect(await client({ timeoutMs: 300 }).sendChatAction({ chat_id: 1, action: 'typing' })).toBe(true);
    expect(env.upstream.requests).toHaveLength(3);
  });
});

describe('TelegramClient connection refused', () => {
  it('should retry a send when nothing listens and classify it as connect', async () => {
    const port = await freePort();
    const { logger, lines } = captureLogger();
    const c = new TelegramClient({
      token: TOKEN,
      baseUrl: `http://127.0.0.1:${port}`,
      agent: env.agent,
      initialDelayMs: 5,
      maxDelayMs: 10,
      logger,
    });
    const err = await rejection(c.sendMessage({ chat_id: 42, text: 'hi' }));
    expect(err).toBeInstanceOf(UpstreamUnreachableError);
    expect(err).toMatchObject({
      service: 'telegram',
      method: 'sendMessage',
      phase: 'connect',
      safeToRetry: true,
    });
    const retries = lines.filter(l => l.includes('retrying outbound call'));
    expect(retries).toHaveLength(2);
    expect(lines.join('')).not.toContain(TOKEN_SECRET_PART);
    expect(errorTexts(err)).not.toContain(TOKEN_SECRET_PART);
  });
});

describe('TelegramClient.downloadFile', () => {
  it('should GET /file/bot<token>/<path> and return the bytes', async () => {
    const bytes = new Uint8Array(100_000).map((_, i) => i % 251);
    env.upstream.reply({ status: 200, bytes });
    const got = await client().downloadFile('voice/file_1.oga');
    expect(env.upstream.requests[0]!.method).toBe('GET');
    expect(env.upstream.requests[0]!.url).toBe(`/file/bot${TOKEN}/voice/file_1.oga`);
    expect(Buffer.from(got).equals(Buffer.from(bytes))).toBe(true);
  });

  it('should stop at once when Content-Length is over 20 MiB', async () => {
    let written = 0;
    env.upstream.reply((_req, res) => {
      res.writeHead(200, { 'content-length': String(20 * 1024 * 1024 + 1) });
      res.write(Buffer.alloc(1024), () => (written += 1024));
    });
    const err = await rejection(client().downloadFile('documents/big.bin'));
    expect(err).toBeInstanceOf(FileTooLargeError);
    expect(err).toMatchObject({ maxBytes: 20 * 1024 * 1024, declaredBytes: 20 * 1024 * 1024 + 1 });
    expect(written).toBeLessThanOrEqual(1024);
    expect(env.upstream.requests).toHaveLength(1);
  });

  it('should stop a chunked download without length once it passes 20 MiB', async () => {
    let written = 0;
    let closed: () => void = () => undefined;
    const serverSawClose = new Promise<void>(resolve => (closed = resolve));
    env.upstream.reply((_req, res) => {
      res.writeHead(200, { 'content-type': 'audio/ogg' });
      const chunk = Buffer.alloc(256 * 1024, 7);
      const pump = () => {
        while (!res.destroyed && written < 100 * 1024 * 1024) {
          written += chunk.byteLength;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
      };
      res.on('close', closed);
      pump();
    });
    const err = await rejection(client().downloadFile('voice/endless.oga'));
    expect(err).toBeInstanceOf(FileTooLargeError);
    expect(err).toMatchObject({ declaredBytes: undefined });
    await serverSawClose;
    // The stream was cut shortly after the limit, not read to its 100 MiB end.
    expect(written).toBeLessThan(40 * 1024 * 1024);
    expect(env.upstream.requests).toHaveLength(1);
  });

  it('should honour a smaller maxBytes', async () => {
    env.upstream.reply({ status: 200, bytes: new Uint8Array(2048) });
    await expect(client().downloadFile('a/b', { maxBytes: 1000 })).rejects.toBeInstanceOf(FileTooLargeError);
  });

  it('should map a 404 to ApiRejectedError without the token in it', async () => {
    env.upstream.reply({ status: 404, json: { ok: false, error_code: 404, description: 'Not Found' } });
    const err = await rejection(client().downloadFile('voice/gone.oga'));
    expect(err).toMatchObject({ status: 404, method: 'downloadFile', description: 'Not Found' });
    expect(errorTexts(err)).not.toContain(TOKEN_SECRET_PART);
    expect(env.upstream.requests).toHaveLength(1);
  });

  it.each(['../../bot1:other/getMe', '/etc/passwd', 'voice/../../x', '', 'a//b', './a'])(
    'should refuse the hostile file path %j without a request',
    async path => {
      await expect(client().downloadFile(path)).rejects.toThrow(/file_path must be a relative path/);
      expect(env.upstream.requests).toHaveLength(0);
    },
  );

  it('should encode query and fragment characters of a file path', async () => {
    env.upstream.reply({ status: 200, bytes: new Uint8Array([1]) });
    await client().downloadFile('voice/a?b#c.oga');
    expect(env.upstream.requests[0]!.url).toBe(`/file/bot${TOKEN}/voice/a%3Fb%23c.oga`);
  });
});

describe('TelegramClient secrecy', () => {
  it('should keep the token out of every error and log line', async () => {
    const { logger, lines } = captureLogger();
    const c = client({ timeoutMs: 300, logger, maxAttempts: 1 });
    const errors: unknown[] = [];
    // A proxy page echoing the URL, and a description quoting it: neither may leak.
    env.upstream.reply(
      { status: 502, text: `<html>upstream error for /bot${TOKEN}/sendMessage</html>` },
      { status: 400, json: { ok: false, error_code: 400, description: `Bad Request: bot${TOKEN} is odd` } },
      { hang: true },
      { drop: true },
    );
    errors.push(await rejection(c.sendMessage({ chat_id: 1, text: 'a' })));
    errors.push(await rejection(c.sendMessage({ chat_id: 1, text: 'a' })));
    errors.push(await rejection(c.sendMessage({ chat_id: 1, text: 'a' })));
    errors.push(await rejection(c.getMe()));
    expect(errors.map(e => (e as Error).name)).toEqual([
      'ApiRejectedError',
      'ApiRejectedError',
      'UpstreamUnreachableError',
      'UpstreamUnreachableError',
    ]);
    for (const err of errors) expect(errorTexts(err)).not.toContain(TOKEN_SECRET_PART);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('')).not.toContain(TOKEN_SECRET_PART);
    expect(JSON.stringify(c)).not.toContain(TOKEN_SECRET_PART);
  });

  it('should refuse to build without a token or with a bad base URL, without echoing them', () => {
    expect(() => new TelegramClient({ token: '', baseUrl: env.upstream.url, agent: env.agent })).toThrow(
      /needs a bot token/,
    );
    const bad = (() => {
      try {
        new TelegramClient({ token: TOKEN, baseUrl: `not a url ${TOKEN}`, agent: env.agent });
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(bad).toBeInstanceOf(TypeError);
    expect(errorTexts(bad)).not.toContain(TOKEN_SECRET_PART);
  });
});

describe('TelegramClientCache.get', () => {
  it('should return one client per bot and drop it when the token changes', async () => {
    env.upstream.reply(ok({ id: 1, is_bot: true, first_name: 'b' }));
    const cache = new TelegramClientCache({ baseUrl: env.upstream.url, agent: env.agent });
    const bot = { name: 'alpha', token: TOKEN, webhookSecret: 'whsec_alpha' };
    const first = cache.get(bot);
    expect(cache.get({ ...bot })).toBe(first);
    const rotated = { ...bot, token: '123456789:BBHrotated-token-value-abcdefghijklmn' };
    const second = cache.get(rotated);
    expect(second).not.toBe(first);
    expect(cache.size).toBe(1);
    await second.getMe();
    expect(env.upstream.requests[0]!.url).toBe(`/bot${rotated.token}/getMe`);
    const other = cache.get({ name: 'beta', token: TOKEN, webhookSecret: 'whsec_beta' });
    expect(other).not.toBe(second);
    expect(cache.size).toBe(2);
    cache.delete('beta');
    expect(cache.size).toBe(1);
  });
});
