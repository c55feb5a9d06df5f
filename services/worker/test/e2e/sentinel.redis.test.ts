// The whole pipeline on a real Redis Sentinel deployment (a master, 2 replicas, 3 sentinels), as
// real processes: the sandbox, the gateway (REDIS_WAIT_REPLICAS=1) and two workers. The master is
// SIGKILLed in the middle of a burst; the sentinels promote a replica, every process follows it,
// and every update the gateway answered 200 is answered in its chat exactly once.
import { afterEach, describe, expect, it } from 'vitest';
import { deliverUntilAccepted, waitFor } from '@telegram-receiver/testing';
import { messageUpdate, newChat, startStack, type Stack } from './stack.ts';

let stack: Stack | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const UPDATES = 200;

describe('the pipeline on Redis Sentinel (sandbox, gateway, 2 workers)', () => {
  it(`should answer each of ${UPDATES} acknowledged updates once when the master is killed during the burst`, async () => {
    stack = await startStack({
      sentinel: { replicas: 2, sentinels: 3 },
      workers: 2,
      gatewayEnv: { REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '500' },
    });
    const s = stack;
    const bot = s.bots[0]!;
    // One chat per update (a /status each, answered by the worker itself): each chat must get one reply.
    const chats = Array.from({ length: UPDATES }, () => newChat());
    const acked = new Set<number>();
    const deliver = async (chat: number) => {
      const update = messageUpdate(chat, { text: '/status' });
      await deliverUntilAccepted({
        url: `${s.gatewayUrl}/telegram/webhook`,
        secret: bot.webhookSecret,
        update,
      });
      acked.add(chat);
    };
    let next = 0;
    const senders = Array.from({ length: 8 }, async () => {
      while (next < chats.length) await deliver(chats[next++] as number);
    });
    await waitFor(() => acked.size >= UPDATES / 4, { message: 'a quarter of the burst acknowledged' });
    const failover = await s.sentinel!.killMasterAndWaitForFailover();
    await Promise.all(senders);
    expect(failover.to).not.toBe(failover.from);
    expect(acked.size).toBe(UPDATES);

    // Every acknowledged update is answered in its chat, exactly once.
    const repliesPerChat = async () => {
      const counts = new Map<number, number>();
      for (const call of await s.calls({ service: 'telegram', method: 'sendMessage' })) {
        if (call.status === 200 && call.chatId !== undefined) {
          counts.set(call.chatId, (counts.get(call.chatId) ?? 0) + 1);
        }
      }
      return counts;
    };
    await waitFor(async () => (await repliesPerChat()).size >= UPDATES, {
      timeoutMs: 40_000,
      intervalMs: 250,
      message: 'a reply in every chat',
    });
    await s.settled(20_000);
    const counts = await repliesPerChat();
    expect(chats.filter(chat => counts.get(chat) !== 1)).toEqual([]);
    console.info(
      `sentinel: master ${failover.from} killed after ${UPDATES / 4}+ of ${UPDATES} updates acknowledged; promoted ${failover.to}; ${UPDATES} chats answered once each by 2 worker processes`,
    );
  }, 120_000);
});
