import { check, sleep } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import { SANDBOX_URL } from '../lib/env.ts';
import { delivered, deliveryDuration } from '../lib/metrics.ts';
import { postUpdate } from '../lib/requests.ts';
import { chatOf, updateBody } from '../lib/updates.ts';

const DEADLINE_MS = 10_000;

interface RecordedCall {
  at: number;
}

/**
 * End to end: a text update from a chat of its own, then poll the sandbox's recorded calls until the
 * bot's sendMessage to that chat is there (or the deadline passes). Measures sent → reply recorded.
 */
export function deliveryScenario(chats: number): () => void {
  return () => {
    const i = exec.scenario.iterationInTest;
    const chatId = chatOf(i, chats);
    const sentAt = Date.now();
    if (!postUpdate(updateBody('text', i, chatId))) {
      delivered.add(false);
      return;
    }
    let reply: RecordedCall | undefined;
    while (reply === undefined && Date.now() - sentAt < DEADLINE_MS) {
      const res = http.get(
        `${SANDBOX_URL}/sandbox/calls?service=telegram&method=sendMessage&chat_id=${chatId}`,
        {
          tags: { name: 'sandbox-calls' },
        },
      );
      const calls = res.status === 200 ? (res.json('calls') as unknown as RecordedCall[]) : [];
      reply = calls[0];
      if (reply === undefined) sleep(0.05);
    }
    delivered.add(reply !== undefined);
    check(reply, { 'reply delivered to the chat': r => r !== undefined });
    if (reply !== undefined) deliveryDuration.add(reply.at - sentAt);
  };
}
