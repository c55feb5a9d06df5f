// One trace per update, across the real gateway and worker processes (loaded with the tracing
// bootstrap, exporting OTLP/HTTP JSON to a receiver in this test) and the sandbox: from the webhook
// to the reply after cursor-runner's callback, with no secret in any span or log line.
import { OtlpReceiver, waitFor, type ReceivedSpan } from '@telegram-receiver/testing';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ELEVENLABS_KEY,
  WEBHOOK_SECRET,
  messageUpdate,
  newChat,
  startStack,
  voiceUpdate,
  type Stack,
} from './stack.ts';

const SERVER = 2;
const CLIENT = 3;
const PRODUCER = 4;
const CONSUMER = 5;

let receiver: OtlpReceiver;
let stack: Stack;

beforeAll(async () => {
  receiver = await OtlpReceiver.start();
  stack = await startStack({ otlpEndpoint: receiver.url });
}, 60_000);

afterAll(async () => {
  await stack?.close();
  await receiver?.close();
});

/** The trace whose gateway span carries `update_id`, once it holds a span matching `complete`. */
async function traceOf(
  updateId: number,
  complete: (spans: ReceivedSpan[]) => boolean,
): Promise<ReceivedSpan[]> {
  return await waitFor(
    () => {
      const root = receiver.spans.find(s => s.attributes['telegram.update_id'] === updateId);
      if (root === undefined) return undefined;
      const spans = receiver.trace(root.traceId);
      return complete(spans) ? spans : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 100, message: `the trace of update ${updateId}` },
  );
}

const urlOf = (s: ReceivedSpan) => String(s.attributes['url.full'] ?? '');
const isClientCall = (path: string) => (s: ReceivedSpan) => s.kind === CLIENT && urlOf(s).includes(path);

/** Whether `span` descends from `ancestor` within `spans`. */
function descends(spans: ReceivedSpan[], span: ReceivedSpan, ancestor: ReceivedSpan): boolean {
  const byId = new Map(spans.map(s => [s.spanId, s]));
  for (let s: ReceivedSpan | undefined = span; s !== undefined; s = byId.get(s.parentSpanId)) {
    if (s.spanId === ancestor.spanId) return true;
  }
  return false;
}

/** A fault rule of the sandbox's Telegram for the chat's sendMessage calls. */
async function faultSends(chat: number, rule: Record<string, unknown>): Promise<void> {
  await stack.fault({ service: 'telegram', method: 'sendMessage', chatId: chat, ...rule });
}

/** Post a text update, wait for its reply, and return the update and its whole trace. */
async function textTrace(text: string) {
  const chat = newChat();
  const update = messageUpdate(chat, { text });
  expect(await stack.postUpdate(update)).toBe(200);
  await stack.waitForSent('sendMessage', chat, 1);
  return { update, spans: await traceOf(update.update_id, s => s.some(isClientCall('/sendMessage'))) };
}

describe('tracing across gateway and worker', () => {
  it('should give a text update one trace from the webhook to the reply sent after the callback', async () => {
    const { update, spans } = await textTrace('trace me please');

    const server = spans.find(s => s.attributes['telegram.update_id'] === update.update_id)!;
    expect(server).toMatchObject({ service: 'telegram-receiver-gateway', kind: SERVER, parentSpanId: '' });
    expect(server.name).toBe('POST /telegram/webhook');
    expect(server.attributes).toMatchObject({
      'telegram.bot': 'alpha',
      'telegram.update_type': 'message',
      'http.route': '/telegram/webhook',
    });
    expect(server.attributes['telegram.chat_id_hash']).toMatch(/^[0-9a-f]{16}$/);

    const producer = spans.find(s => s.kind === PRODUCER && s.name === 'add updates.telegram-update')!;
    expect(producer.parentSpanId).toBe(server.spanId);
    const consumer = spans.find(s => s.kind === CONSUMER && s.service === 'telegram-receiver-worker')!;
    expect(consumer.name).toBe('process updates');
    expect(consumer.parentSpanId).toBe(producer.spanId);
    expect(consumer.attributes['telegram_receiver.attempt']).toBe(1);
    expect(consumer.attributes['telegram_receiver.wait_ms']).toBeGreaterThanOrEqual(0);
    expect(
      spans.filter(s => s.attributes['db.system'] === 'redis' || s.attributes['db.system.name'] === 'redis')
        .length,
    ).toBeGreaterThan(0);
    const iterate = spans.find(isClientCall('/cursor/iterate/async'))!;
    expect(descends(spans, iterate, consumer)).toBe(true);

    // The callback job carries the update's trace (tm): its producer span continues it, linked to
    // the callback request's own server span, and its consumer span and replies follow.
    const callbackProducer = spans.find(
      s => s.kind === PRODUCER && s.name === 'add callbacks.cursor-runner-callback',
    )!;
    expect(callbackProducer.service).toBe('telegram-receiver-gateway');
    expect(descends(spans, callbackProducer, consumer)).toBe(true);
    // The link names the span active in the callback request (Koa's router span), whose trace is
    // the request's own, rooted at its server span.
    const linked = receiver.spans.find(s => s.spanId === callbackProducer.links[0]?.spanId)!;
    const requestTrace = receiver.trace(linked.traceId);
    const callbackRequest = requestTrace.find(s => s.kind === SERVER)!;
    expect(callbackRequest.name).toBe('POST /cursor-runner/callback');
    expect(descends(requestTrace, linked, callbackRequest)).toBe(true);
    const callbackConsumer = spans.find(s => s.kind === CONSUMER && s.name === 'process callbacks')!;
    expect(callbackConsumer.parentSpanId).toBe(callbackProducer.spanId);
    const deliver = spans.find(s => s.name === 'deliver cursor-runner result')!;
    expect(deliver.parentSpanId).toBe(callbackConsumer.spanId);
    const send = spans.find(isClientCall('/sendMessage'))!;
    expect(descends(spans, send, deliver)).toBe(true);
    expect(urlOf(send)).toContain('/bot[REDACTED]/sendMessage');
    // The pipeline's own waits are spans with their wait time.
    const pacing = spans.find(s => s.name === 'pacing wait' && descends(spans, s, deliver))!;
    expect(pacing.attributes['telegram_receiver.wait_ms']).toBeGreaterThanOrEqual(0);
  });

  it('should add the getFile, download and speech-to-text spans for a voice update', async () => {
    const chat = newChat();
    const fileId = `trace-voice-${chat}`;
    await stack.registerFile({ fileId, transcript: 'traced voice' });
    const update = voiceUpdate(chat, fileId, 5);
    expect(await stack.postUpdate(update)).toBe(200);
    await stack.waitForSent('sendMessage', chat, 1);
    const spans = await traceOf(update.update_id, s => s.some(isClientCall('/sendMessage')));
    const consumer = spans.find(s => s.kind === CONSUMER && s.name === 'process updates')!;
    const slot = spans.find(s => s.name === 'slot wait')!;
    expect(slot.attributes['telegram_receiver.wait_ms']).toBeGreaterThanOrEqual(0);
    for (const path of ['/getFile', '/file/bot[REDACTED]/', '/v1/speech-to-text']) {
      const call = spans.find(isClientCall(path));
      expect(call, path).toBeDefined();
      expect(descends(spans, call!, consumer)).toBe(true);
    }
    expect(server(spans).attributes['telegram.update_type']).toBe('message');
  });

  it('should link a retried attempt to the attempt before it', async () => {
    const chat = newChat();
    // Telegram's own 5xx three times: the send's inline retries give up, the job's attempt fails,
    // and BullMQ's retry (1 s backoff) sends the reply.
    await faultSends(chat, { type: 'status', status: 502, times: 3 });
    const update = messageUpdate(chat, { text: '/help' });
    expect(await stack.postUpdate(update)).toBe(200);
    await stack.waitForSent('sendMessage', chat, 1, 15_000);
    const attemptsOf = (spans: ReceivedSpan[]) =>
      spans.filter(s => s.kind === CONSUMER && s.name === 'process updates');
    const spans = await traceOf(update.update_id, s => attemptsOf(s).length === 2);
    const [first, second] = attemptsOf(spans).sort(
      (a, b) =>
        Number(a.attributes['telegram_receiver.attempt']) - Number(b.attributes['telegram_receiver.attempt']),
    );
    expect(first!.attributes['telegram_receiver.attempt']).toBe(1);
    expect(second!.attributes['telegram_receiver.attempt']).toBe(2);
    expect(first!.links).toEqual([]);
    expect(second!.links).toEqual([{ traceId: first!.traceId, spanId: first!.spanId }]);
    // Both attempts stay children of the update's producer span.
    expect(second!.parentSpanId).toBe(first!.parentSpanId);
  });

  it("should show the time an update waited in its chat's lane behind the one before it", async () => {
    const chat = newChat();
    // The first update's reply takes 800 ms, so the second update of the chat is parked meanwhile.
    await faultSends(chat, { type: 'latency', ms: 800, times: 1 });
    const first = messageUpdate(chat, { text: '/help' }, 1);
    const second = messageUpdate(chat, { text: '/help' }, 2);
    expect(await stack.postUpdate(first)).toBe(200);
    expect(await stack.postUpdate(second)).toBe(200);
    await stack.waitForSent('sendMessage', chat, 2);
    const consumerOf = (spans: ReceivedSpan[]) =>
      spans.find(s => s.kind === CONSUMER && s.name === 'process updates');
    const firstSpans = await traceOf(first.update_id, s => consumerOf(s) !== undefined);
    expect(consumerOf(firstSpans)!.attributes['telegram_receiver.lane_wait_ms']).toBe(0);
    expect(firstSpans.some(s => s.name === 'lane wait')).toBe(false);

    const spans = await traceOf(
      second.update_id,
      s => s.some(x => x.name === 'lane wait') && consumerOf(s) !== undefined,
    );
    const wait = spans.find(s => s.name === 'lane wait')!;
    const producer = spans.find(s => s.kind === PRODUCER && s.name === 'add updates.telegram-update')!;
    expect(wait.parentSpanId).toBe(producer.spanId);
    expect(wait.attributes['telegram_receiver.wait_ms']).toBeGreaterThanOrEqual(500);
    expect(consumerOf(spans)!.attributes['telegram_receiver.lane_wait_ms']).toBe(
      wait.attributes['telegram_receiver.wait_ms'],
    );
  });

  it('should put trace ids as exemplars on the latency histograms of both ops ports', async () => {
    const { spans } = await textTrace('exemplar please');
    const traceId = spans[0]!.traceId;
    const scrape = async (url: string) => {
      const res = await request(`${url}/metrics`);
      expect(res.headers['content-type']).toMatch(/^application\/openmetrics-text/);
      return await res.body.text();
    };
    const gateway = await scrape(stack.gatewayOpsUrl);
    expect(gateway).toMatch(
      /telegram_receiver_http_request_duration_seconds_bucket\{[^}]*\} \d+ # \{trace_id="[0-9a-f]{32}",span_id="[0-9a-f]{16}"\}/,
    );
    expect(gateway).toMatch(
      /telegram_receiver_enqueue_duration_seconds_bucket\{[^}]*\} \d+ # \{trace_id="[0-9a-f]{32}"/,
    );
    const worker = await scrape(stack.workerOpsUrl);
    for (const histogram of ['job_duration_seconds', 'job_wait_seconds', 'upstream_call_duration_seconds']) {
      expect(worker).toMatch(
        new RegExp(`telegram_receiver_${histogram}_bucket\\{[^}]*\\} \\d+ # \\{trace_id="[0-9a-f]{32}"`),
      );
    }
    // Some exemplar names a trace this test saw exported.
    const exemplarTraces = [...`${gateway}${worker}`.matchAll(/trace_id="([0-9a-f]{32})"/g)].map(m => m[1]);
    expect(exemplarTraces.some(id => receiver.spans.some(s => s.traceId === id))).toBe(true);
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    for (const series of [
      'telegram_receiver_job_attempts_total{queue="updates"}',
      'telegram_receiver_pacing_wait_seconds_count',
      'telegram_receiver_settings_cache_requests_total{result="hit"}',
    ]) {
      expect(worker).toContain(series);
    }
  });

  it('should leave no token, webhook secret, admin secret or API key in any span or log line', async () => {
    await waitFor(() => receiver.spans.length > 0);
    const exported = receiver.rawBodies.join('\n');
    const logs = [...stack.gateway.lines, ...stack.worker.lines].join('\n');
    for (const text of [exported, logs]) {
      for (const bot of stack.bots) {
        expect(text).not.toContain(bot.token);
        expect(text).not.toContain(bot.webhookSecret);
        expect(text).not.toContain(bot.token.split(':')[1]);
      }
      expect(text).not.toContain(WEBHOOK_SECRET);
      expect(text).not.toContain(ELEVENLABS_KEY);
      expect(text).not.toContain('trace me please');
    }
    // Log lines written inside a traced operation name their trace.
    expect(logs).toMatch(/"trace_id":"[0-9a-f]{32}","span_id":"[0-9a-f]{16}"/);
  });
});

function server(spans: ReceivedSpan[]): ReceivedSpan {
  return spans.find(s => s.kind === SERVER && s.attributes['telegram.update_id'] !== undefined)!;
}
