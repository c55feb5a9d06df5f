// The whole pipeline on a real Redis Cluster of 3 masters, as real processes: the sandbox, the
// gateway, two workers and the metrics service, all given REDIS_CLUSTER_NODES and a hash-tagged
// QUEUE_PREFIX. Many chats talk at once (each prompt answered through a cursor-runner callback):
// every prompt is answered once, in each chat's order, and the metrics service reads its scaling
// signal from the cluster while they do.
import type { Cluster } from 'ioredis';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { laneIndexKey, type RedisClient } from '@telegram-receiver/core';
import { laneInvariantViolations, waitFor } from '@telegram-receiver/testing';
import {
  converse,
  growingDelays,
  newChat,
  repliesByChat,
  startStack,
  storedCallbacksByChat,
  type Stack,
} from './stack.ts';

let stack: Stack | undefined;
let probe: RedisClient | undefined;

afterEach(async () => {
  probe?.disconnect();
  probe = undefined;
  await stack?.close();
  stack = undefined;
});

const CHATS = 40;
const PROMPTS = 5;

interface QueuesBody {
  fresh: boolean;
  queues: Record<'updates' | 'callbacks', { backlog: number; pendingLanes: number }>;
}

async function queuesOf(metricsUrl: string): Promise<QueuesBody | undefined> {
  const res = await request(`${metricsUrl}/queues`);
  if (res.statusCode !== 200) {
    await res.body.dump();
    return undefined;
  }
  return (await res.body.json()) as QueuesBody;
}

describe('the pipeline on Redis Cluster (3 masters; sandbox, gateway, 2 workers, metrics service)', () => {
  it(`should answer ${CHATS} chats × ${PROMPTS} prompts once each, in order, with the metrics read from the cluster`, async () => {
    stack = await startStack({ clusterMasters: 3, workers: 2, metrics: true });
    const s = stack;
    const cluster = s.cluster!;
    probe = s.connect();
    const metricsUrl = s.metricsUrl!;
    expect(cluster.servers).toHaveLength(3);

    // The metrics service's signal, sampled while the chats talk.
    let busiest = { pendingLanes: 0, backlog: 0 };
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const body = await queuesOf(metricsUrl).catch(() => undefined);
        if (body?.fresh === true) {
          const lanes = body.queues.updates.pendingLanes + body.queues.callbacks.pendingLanes;
          const backlog = body.queues.updates.backlog + body.queues.callbacks.backlog;
          if (lanes > busiest.pendingLanes) busiest = { pendingLanes: lanes, backlog };
        }
        await new Promise(resolve => setTimeout(resolve, 100));
      }
    })();

    const chats = Array.from({ length: CHATS }, () => newChat());
    const started = performance.now();
    await Promise.all(chats.map(chat => converse(s, chat, growingDelays(PROMPTS, 200, 150, 300), () => 0)));
    await waitFor(async () => [...(await repliesByChat(s, chats)).values()].every(r => r.length >= PROMPTS), {
      timeoutMs: 30_000,
      intervalMs: 250,
      message: 'every reply',
    });
    const elapsedMs = performance.now() - started;
    await waitFor(
      async () =>
        (await probe!.zcard(laneIndexKey(s.prefix, 'updates'))) +
          (await probe!.zcard(laneIndexKey(s.prefix, 'callbacks'))) ===
        0,
      { timeoutMs: 10_000, message: 'every lane to empty' },
    );

    // Each prompt answered exactly once, in the order its callback reached the gateway…
    const replies = await repliesByChat(s, chats);
    const expected = Array.from({ length: PROMPTS }, (_, k) => k);
    for (const got of replies.values()) expect([...got].sort((a, b) => a - b)).toEqual(expected);
    const stored = await storedCallbacksByChat(s, probe, chats);
    expect([...replies].filter(([chat, got]) => got.join() !== stored.get(chat)?.join())).toEqual([]);
    // …which is prompt order for every chat whose callbacks came back in prompt order (the
    // sandbox's delays grow along each chat; a starved sandbox may fire two timers in one tick).
    const inPromptOrder = [...stored].filter(([, order]) => order.join() === expected.join());
    expect(inPromptOrder.length).toBeGreaterThanOrEqual(CHATS / 2);
    expect(await laneInvariantViolations(probe, s.prefix)).toEqual([]);

    // The metrics service read the signal from the cluster: lanes were pending during the burst,
    // and it reads none pending once the chats are answered.
    const final = await waitFor(
      async () => {
        const body = await queuesOf(metricsUrl);
        return body?.fresh === true &&
          body.queues.updates.pendingLanes + body.queues.callbacks.pendingLanes === 0
          ? body
          : undefined;
      },
      { message: 'the metrics service to read the idle cluster' },
    );
    sampling = false;
    await sampler;
    expect(busiest.pendingLanes).toBeGreaterThan(0);
    expect(final.queues.updates.backlog + final.queues.callbacks.backlog).toBe(0);
    const exposition = await (await request(`${metricsUrl}/metrics`)).body.text();
    expect(exposition).toMatch(/^telegram_receiver_queue_pending_lanes\{queue="updates"\} 0$/m);

    // Every key of the deployment sits in one slot, so on one of the 3 masters, and no master
    // refused a command for its keys' slots.
    const owners: number[] = [];
    for (const node of (probe as Cluster).nodes('master')) {
      const [, keys] = await node.scan('0', 'MATCH', `${s.prefix}*`, 'COUNT', 100_000);
      if (keys.length > 0) owners.push(Number(node.options.port));
      expect(await node.info('errorstats')).not.toContain('errorstat_CROSSSLOT');
    }
    expect(owners).toHaveLength(1);
    console.info(
      `cluster: ${CHATS} chats × ${PROMPTS} prompts answered in ${Math.round(elapsedMs)} ms on 3 masters with 2 workers; ${inPromptOrder.length} chats' callbacks came back in prompt order; busiest metrics sample: ${busiest.pendingLanes} pending lanes, backlog ${busiest.backlog}`,
    );
  }, 60_000);
});
