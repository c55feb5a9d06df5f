// What the gateway's failover tests (Sentinel, Cluster) share: a burst of webhooks delivered as
// Telegram would (again on 503 until accepted), and the check that every acknowledged update is in
// Redis and runs exactly once.
import { QUEUE_NAMES, type RedisClient } from '@telegram-receiver/core';
import { deliverUntilAccepted, waitFor } from '@telegram-receiver/testing';
import { Worker } from 'bullmq';
import { expect } from 'vitest';
import { BOT_A, messageUpdate } from './harness.ts';

/** A burst in flight: the update ids it sends, those the gateway acknowledged so far, and its end. */
export interface Burst {
  ids: number[];
  acked: Set<number>;
  done: Promise<void>;
}

/**
 * Send updates 1…`count` to the gateway at `url` from 8 senders, each until it is answered 200. One
 * chat per update: every update is its own lane's head, so a plain BullMQ worker sees them all.
 */
export function startBurst(url: string, count: number): Burst {
  const ids = Array.from({ length: count }, (_, i) => i + 1);
  const acked = new Set<number>();
  let next = 0;
  const senders = Array.from({ length: 8 }, async () => {
    while (next < ids.length) {
      const id = ids[next++] as number;
      await deliverUntilAccepted({
        url: `${url}/telegram/webhook`,
        secret: BOT_A.webhookSecret,
        update: messageUpdate(id, 100_000 + id),
      });
      acked.add(id);
    }
  });
  return { ids, acked, done: Promise.all(senders).then(() => undefined) };
}

/** A plain BullMQ worker on `connection` processes every id of `ids` from the `updates` queue, each once. */
export async function expectEachProcessedOnce(
  connection: RedisClient,
  prefix: string,
  ids: readonly number[],
): Promise<void> {
  const processed = new Map<number, number>();
  const worker = new Worker(
    QUEUE_NAMES.updates,
    async job => {
      const id = (job.data as { update: { update_id: number } }).update.update_id;
      processed.set(id, (processed.get(id) ?? 0) + 1);
    },
    { connection, prefix, concurrency: 16 },
  );
  try {
    await waitFor(() => processed.size === ids.length, { timeoutMs: 60_000 });
    expect([...processed.values()].every(n => n === 1)).toBe(true);
    expect([...processed.keys()].sort((a, b) => a - b)).toEqual(ids);
  } finally {
    await worker.close();
  }
}
