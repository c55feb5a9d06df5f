import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisServer, randomName } from '@telegram-receiver/testing';
import { ProviderSlots, SlotsBusyError } from '../../src/processors/provider-slots.ts';
import { SendPacer } from '../../src/processors/send-pacer.ts';
import { newChatId, startHarness, voiceUpdate, type Harness } from './harness.ts';

let redisServer: RedisServer;
let redis: Redis;
let h: Harness | undefined;

beforeAll(async () => {
  redisServer = await RedisServer.start({ appendOnly: false });
  redis = new Redis(redisServer.url);
});

afterEach(async () => {
  await h?.close();
  h = undefined;
});

afterAll(async () => {
  redis.disconnect();
  await redisServer.close();
});

describe('SendPacer.reserve', () => {
  it('should allow a burst per chat, then one message per interval', async () => {
    const pacer = new SendPacer({
      redis,
      prefix: randomName('pace'),
      privateChat: { intervalMs: 1000, burst: 3 },
    });
    const waits = [];
    for (let i = 0; i < 6; i++) waits.push(await pacer.reserve('bot', 42));
    expect(waits.slice(0, 3)).toEqual([0, 0, 0]);
    expect(waits[3]).toBeGreaterThan(900);
    expect(waits[4]).toBeGreaterThan(1900);
    expect(waits[5]).toBeGreaterThan(2900);
  });

  it('should pace groups slower than private chats, and keep chats and bots apart', async () => {
    const pacer = new SendPacer({ redis, prefix: randomName('pace') });
    const group = [];
    for (let i = 0; i < 6; i++) group.push(await pacer.reserve('bot', -100123));
    expect(group.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
    expect(group[5]).toBeGreaterThan(2900);
    expect(await pacer.reserve('bot', 7)).toBe(0);
    expect(await pacer.reserve('other-bot', -100123)).toBe(0);
  });

  it('should hold the per-bot rate across all chats (shared by every replica through Redis)', async () => {
    const prefix = randomName('pace');
    const replicas = [new SendPacer({ redis, prefix }), new SendPacer({ redis, prefix })];
    const waits = await Promise.all(
      Array.from({ length: 60 }, (_, i) => replicas[i % 2]!.reserve('busy-bot', 1000 + i)),
    );
    // 30 go at once; the next 30 are spread over about a second.
    expect(waits.filter(w => w === 0)).toHaveLength(30);
    expect(Math.max(...waits)).toBeGreaterThan(900);
    expect(Math.max(...waits)).toBeLessThan(1200);
  });

  it('should cap a wait at maxWaitMs', async () => {
    const pacer = new SendPacer({
      redis,
      prefix: randomName('pace'),
      privateChat: { intervalMs: 60_000, burst: 1 },
      maxWaitMs: 500,
    });
    expect(await pacer.reserve('b', 1)).toBe(0);
    expect(await pacer.reserve('b', 1)).toBe(500);
  });
});

describe('ProviderSlots.run', () => {
  it('should never let more than the limit run at once across instances', async () => {
    const key = randomName('slots');
    const a = new ProviderSlots({ redis, key, limit: 2 });
    const b = new ProviderSlots({ redis, key, limit: 2 });
    let running = 0;
    let peak = 0;
    const task = async () => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise(resolve => setTimeout(resolve, 30));
      running -= 1;
    };
    await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).run(task)));
    expect(peak).toBe(2);
    expect(await a.held()).toBe(0);
  });

  it('should release the slot when the call throws', async () => {
    const slots = new ProviderSlots({ redis, key: randomName('slots'), limit: 1 });
    await expect(slots.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await slots.held()).toBe(0);
    expect(await slots.run(async () => 'ok')).toBe('ok');
  });

  it('should give up with SlotsBusyError when no slot frees in time, and reclaim a dead holder lease', async () => {
    const key = randomName('slots');
    const slots = new ProviderSlots({ redis, key, limit: 1, maxWaitMs: 200 });
    // A holder that died: its lease ends in 3 s, far past the impatient caller's 200 ms even on a
    // loaded machine (with 400 ms the lease could lapse before the caller's first look).
    await redis.zadd(key, Date.now() + 3000, 'dead-holder');
    await expect(slots.run(async () => 'x')).rejects.toBeInstanceOf(SlotsBusyError);
    const patient = new ProviderSlots({ redis, key, limit: 1, maxWaitMs: 10_000 });
    expect(await patient.run(async () => 'after the lease')).toBe('after the lease');
  });
});

describe('cluster-wide ElevenLabs concurrency', () => {
  it('should transcribe many voice notes with one slot, one at a time', async () => {
    h = await startHarness({
      redisUrl: redisServer.url,
      elevenLabsConcurrency: 1,
      sandboxElevenLabsConcurrency: 1,
    });
    // Slow enough that unthrottled transcriptions would overlap and meet the sandbox's 429.
    h.sandbox.setFault({ service: 'elevenlabs', method: 'speech-to-text', type: 'latency', ms: 150 });
    const chats = Array.from({ length: 4 }, () => newChatId());
    for (const [i, chat] of chats.entries()) {
      h.sandbox.registerFile({ fileId: `slot-${i}`, transcript: `note ${i}` });
      await h.postUpdate(voiceUpdate(chat, `slot-${i}`));
    }
    for (const chat of chats) await h.waitForSent('sendMessage', chat, 1);
    const stt = h.sandbox.calls({ service: 'elevenlabs', method: 'speech-to-text' });
    expect(stt.filter(c => c.status === 200)).toHaveLength(4);
    // The sandbox answers 429 when a second request arrives while one runs: none did.
    expect(stt.filter(c => c.status === 429)).toHaveLength(0);
  });
});
