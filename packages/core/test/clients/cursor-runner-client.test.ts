import { freePort } from '@telegram-receiver/testing';
import { describe, expect, it } from 'vitest';
import {
  ApiRejectedError,
  CursorRunnerClient,
  UpstreamUnreachableError,
  type CursorRunnerClientOptions,
} from '@telegram-receiver/core';
import { captureLogger, errorTexts, rejection, useClientTestEnv } from './fake-upstream.ts';

const SECRET = 'cr-webhook-secret-0123456789';
const CALLBACK = 'http://gateway.test:3000/cursor-runner/callback';
const ACK = {
  status: 200,
  json: {
    success: true,
    message: 'Request accepted, processing asynchronously',
    requestId: 'telegram-1-abcd1234',
    timestamp: '2026-01-01T00:00:00Z',
  },
};

const env = useClientTestEnv();

const client = (extra: Partial<CursorRunnerClientOptions> = {}) =>
  new CursorRunnerClient({ baseUrl: env.upstream.url, agent: env.agent, webhookSecret: SECRET, ...extra });

describe('CursorRunnerClient.iterateAsync', () => {
  it('should POST the seed body with defaults, the secret in the callback URL and in X-Webhook-Secret', async () => {
    env.upstream.reply(ACK);
    const ack = await client().iterateAsync({
      id: 'telegram-1-abcd1234',
      prompt: 'fix it',
      callbackUrl: CALLBACK,
    });
    expect(ack).toEqual({
      requestId: 'telegram-1-abcd1234',
      message: 'Request accepted, processing asynchronously',
    });
    const req = env.upstream.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/cursor/iterate/async');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['x-webhook-secret']).toBe(SECRET);
    const body = JSON.parse(req.body.toString()) as Record<string, unknown>;
    expect(body).toEqual({
      id: 'telegram-1-abcd1234',
      prompt: 'fix it',
      repository: '',
      branchName: 'main',
      maxIterations: 25,
      callbackUrl: `${CALLBACK}?secret=${SECRET}`,
    });
    expect(new URL(body.callbackUrl as string).searchParams.get('secret')).toBe(SECRET);
  });

  it('should pass repository, branch, iterations and conversationId and keep the callback query', async () => {
    env.upstream.reply(ACK);
    await client().iterateAsync({
      id: 'telegram-2-00000000',
      prompt: 'p',
      callbackUrl: `${CALLBACK}?bot=alpha`,
      repository: 'repo-a',
      branchName: 'dev',
      maxIterations: 3,
      conversationId: 'conv-1',
    });
    const body = JSON.parse(env.upstream.requests[0]!.body.toString()) as Record<string, unknown>;
    expect(body).toMatchObject({
      repository: 'repo-a',
      branchName: 'dev',
      maxIterations: 3,
      conversationId: 'conv-1',
    });
    const cb = new URL(body.callbackUrl as string);
    expect(cb.searchParams.get('bot')).toBe('alpha');
    expect(cb.searchParams.get('secret')).toBe(SECRET);
  });

  it("should attach the secret to each call's own callback URL when one client gets several", async () => {
    const c = client();
    const urls = [`${CALLBACK}?bot=alpha`, `${CALLBACK}?bot=beta`, `${CALLBACK}?bot=alpha`];
    for (const [i, callbackUrl] of urls.entries()) {
      env.upstream.reply(ACK);
      await c.iterateAsync({ id: `telegram-${i}-00000000`, prompt: 'p', callbackUrl });
    }
    const sent = env.upstream.requests.map(
      r => new URL((JSON.parse(r.body.toString()) as { callbackUrl: string }).callbackUrl),
    );
    expect(sent.map(u => u.searchParams.get('bot'))).toEqual(['alpha', 'beta', 'alpha']);
    expect(sent.every(u => u.searchParams.get('secret') === SECRET)).toBe(true);
    await expect(c.iterateAsync({ id: 'x', prompt: 'p', callbackUrl: 'not a url' })).rejects.toThrow(
      TypeError,
    );
  });

  it('should send neither secret form when no secret is configured', async () => {
    env.upstream.reply(ACK);
    await client({ webhookSecret: undefined }).iterateAsync({ id: 'x', prompt: 'p', callbackUrl: CALLBACK });
    const req = env.upstream.requests[0]!;
    expect(req.headers['x-webhook-secret']).toBeUndefined();
    expect((JSON.parse(req.body.toString()) as { callbackUrl: string }).callbackUrl).toBe(CALLBACK);
  });

  it('should fall back to our id when the ack has no requestId', async () => {
    env.upstream.reply({ status: 200, json: { success: true } });
    expect(await client().iterateAsync({ id: 'mine', prompt: 'p', callbackUrl: CALLBACK })).toEqual({
      requestId: 'mine',
      message: '',
    });
  });

  it('should throw ApiRejectedError with the error text on 400, once', async () => {
    env.upstream.reply({ status: 400, json: { success: false, error: 'prompt is required' } });
    const err = await rejection(client().iterateAsync({ id: 'x', prompt: '', callbackUrl: CALLBACK }));
    expect(err).toBeInstanceOf(ApiRejectedError);
    expect(err).toMatchObject({
      service: 'cursor-runner',
      method: 'iterateAsync',
      status: 400,
      description: 'prompt is required',
      ambiguous: false,
    });
    expect(env.upstream.requests).toHaveLength(1);
  });

  it('should treat a 401 for a missing secret as a rejection without echoing the secret', async () => {
    env.upstream.reply({
      status: 401,
      json: { success: false, error: `Unauthorized - invalid or missing webhook secret ${SECRET}` },
    });
    const err = await rejection(client().iterateAsync({ id: 'x', prompt: 'p', callbackUrl: CALLBACK }));
    expect(err).toMatchObject({ status: 401 });
    expect(errorTexts(err)).not.toContain(SECRET);
  });

  it('should not retry a 500 and mark an HTML answer ambiguous', async () => {
    env.upstream.reply({ status: 502, text: `<html>bad gateway ${CALLBACK}?secret=${SECRET}</html>` });
    const err = await rejection(client().iterateAsync({ id: 'x', prompt: 'p', callbackUrl: CALLBACK }));
    expect(err).toMatchObject({ status: 502, ambiguous: true, mayHaveTakenEffect: true });
    expect(errorTexts(err)).not.toContain(SECRET);
    expect(env.upstream.requests).toHaveLength(1);
  });

  it('should report a refused connection as connect, safe to retry, without retrying', async () => {
    const port = await freePort();
    const c = new CursorRunnerClient({
      baseUrl: `http://127.0.0.1:${port}`,
      agent: env.agent,
      webhookSecret: SECRET,
    });
    const err = await rejection(c.iterateAsync({ id: 'x', prompt: 'p', callbackUrl: CALLBACK }));
    expect(err).toBeInstanceOf(UpstreamUnreachableError);
    expect(err).toMatchObject({ service: 'cursor-runner', phase: 'connect', safeToRetry: true });
    expect(errorTexts(err)).not.toContain(SECRET);
  });

  it('should report a silent cursor-runner as a timeout after one request', async () => {
    env.upstream.reply({ hang: true });
    const err = await rejection(
      client({ timeoutMs: 300 }).iterateAsync({ id: 'x', prompt: 'p', callbackUrl: CALLBACK }),
    );
    expect(err).toBeInstanceOf(UpstreamUnreachableError);
    expect(err).toMatchObject({ phase: 'timeout', safeToRetry: false, mayHaveTakenEffect: true });
    expect(env.upstream.requests).toHaveLength(1);
  });

  it('should report a dropped connection as reset', async () => {
    env.upstream.reply({ drop: true });
    const err = await rejection(client().iterateAsync({ id: 'x', prompt: 'p', callbackUrl: CALLBACK }));
    expect(err).toMatchObject({ name: 'UpstreamUnreachableError', phase: 'reset' });
    expect(env.upstream.requests).toHaveLength(1);
  });

  it('should never log the secret or the callback URL that carries it', async () => {
    const { logger, lines } = captureLogger();
    env.upstream.reply(ACK, { status: 400, json: { success: false, error: 'prompt is required' } });
    const c = client({ logger });
    await c.iterateAsync({ id: 'x', prompt: 'p', callbackUrl: CALLBACK });
    await rejection(c.iterateAsync({ id: 'y', prompt: '', callbackUrl: CALLBACK }));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('')).not.toContain(SECRET);
    expect(lines.join('')).not.toContain('callback');
  });

  it('should refuse a malformed callback URL or base URL before any request', async () => {
    await expect(client().iterateAsync({ id: 'x', prompt: 'p', callbackUrl: 'not a url' })).rejects.toThrow(
      /callbackUrl must be an absolute/,
    );
    expect(() => new CursorRunnerClient({ baseUrl: 'nope', agent: env.agent })).toThrow(
      /baseUrl must be an absolute/,
    );
    expect(env.upstream.requests).toHaveLength(0);
  });

  it('should treat a 2xx with success:false as a rejection', async () => {
    env.upstream.reply({ status: 200, json: { success: false, error: 'Repository not found locally: r' } });
    const err = await rejection(client().iterateAsync({ id: 'x', prompt: 'p', callbackUrl: CALLBACK }));
    expect(err).toMatchObject({ status: 200, description: 'Repository not found locally: r' });
  });

  it('should refuse an oversized answer', async () => {
    env.upstream.reply({ status: 200, json: { success: true, message: 'x'.repeat(2 * 1024 * 1024) } });
    const err = await rejection(client().iterateAsync({ id: 'x', prompt: 'p', callbackUrl: CALLBACK }));
    expect(err).toMatchObject({ ambiguous: true, description: 'answer too large' });
  });
});
