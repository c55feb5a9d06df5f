// The webhook's bulk writer bypasses Queue.add, so it must store the trace context where BullMQ's
// own telemetry (bullmq-otel) does: compared here with Queue.add under the same parent span, and
// proven by BullMQ's Worker continuing the writer's trace.
import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import {
  JOB_NAMES,
  UPDATE_DEDUP_TTL_MS,
  bullmqTelemetry,
  createQueues,
  inProducerSpan,
  stopTracing,
  updateJobId,
} from '@telegram-receiver/core';
import { startTracing } from '@telegram-receiver/core/start-tracing';
import { RedisServer, randomName, waitFor } from '@telegram-receiver/testing';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpdateWriter } from '../src/update-writer.ts';

const update = {
  update_id: 4242,
  message: { message_id: 1, date: 1, chat: { id: 77, type: 'private' as const }, text: 'traced' },
};
const exporter = new InMemorySpanExporter();

describe('UpdateWriter.write(batch) with tracing on', () => {
  let server: RedisServer;
  let redis: Redis;

  beforeAll(async () => {
    startTracing({}, { exporter });
    server = await RedisServer.start({ appendOnly: false });
    redis = new Redis(server.url, { maxRetriesPerRequest: null });
  });
  afterAll(async () => {
    redis.disconnect();
    await server.close();
    await stopTracing();
  });

  it('should store the producer span context as Queue.add with bullmq-otel does, and the worker should continue it', async () => {
    const [bullPrefix, ourPrefix] = [randomName('bull'), randomName('ours')];
    const jobId = updateJobId('bot', update.update_id);
    const bull = createQueues(redis, bullPrefix);
    const ours = createQueues(redis, ourPrefix);
    expect(bull.updates.opts.telemetry).toBe(bullmqTelemetry());
    const writer = new UpdateWriter({ queue: ours.updates, redis, prefix: ourPrefix });

    const parent = trace.getTracer('test').startSpan('webhook');
    await context.with(trace.setSpan(context.active(), parent), async () => {
      await bull.updates.add(
        JOB_NAMES.telegramUpdate,
        { bot: 'bot', update, lane: 'chat:77', receivedAt: 1 },
        { jobId, deduplication: { id: jobId, ttl: UPDATE_DEDUP_TTL_MS } },
      );
      await inProducerSpan(ours.updates.name, JOB_NAMES.telegramUpdate, carrier =>
        writer.write([{ bot: 'bot', updateId: update.update_id, update, lane: 'chat:77', trace: carrier }]),
      );
    });
    parent.end();

    const optsOf = async (prefix: string) =>
      JSON.parse((await redis.hget(`${prefix}:updates:${jobId}`, 'opts')) ?? '{}') as Record<string, unknown>;
    const [theirs, mine] = [await optsOf(bullPrefix), await optsOf(ourPrefix)];
    expect(Object.keys(mine).sort()).toEqual(Object.keys(theirs).sort());
    const carrierOf = (opts: Record<string, unknown>) =>
      JSON.parse(String(opts.tm)) as Record<string, string>;
    expect(Object.keys(carrierOf(mine))).toEqual(Object.keys(carrierOf(theirs)));

    // Both producer spans are children of the webhook span, named alike; each job carries its own.
    const spans = exporter.getFinishedSpans();
    const producers = spans.filter(s => s.name === `add updates.${JOB_NAMES.telegramUpdate}`);
    expect(producers).toHaveLength(2);
    const traceId = parent.spanContext().traceId;
    for (const p of producers) {
      expect(p.spanContext().traceId).toBe(traceId);
      expect(p.parentSpanContext?.spanId).toBe(parent.spanContext().spanId);
    }
    const ourProducer = producers.find(p => carrierOf(mine).traceparent?.includes(p.spanContext().spanId))!;
    expect(ourProducer).toBeDefined();

    // BullMQ's own Worker reads the context back: its consumer span is a child of our producer span.
    const worker = new Worker(ours.updates.name, async () => 'done', {
      connection: redis.duplicate(),
      prefix: ourPrefix,
      telemetry: bullmqTelemetry(),
    });
    const consumer = await waitFor(() =>
      exporter
        .getFinishedSpans()
        .find(s => s.name === 'process updates' && s.spanContext().traceId === traceId),
    );
    expect(consumer.parentSpanContext?.spanId).toBe(ourProducer.spanContext().spanId);
    await worker.close();
    await Promise.all([
      bull.updates.close(),
      bull.callbacks.close(),
      ours.updates.close(),
      ours.callbacks.close(),
    ]);
  });
});
