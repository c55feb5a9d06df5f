// The gateway writes jobs and reads queues without loading BullMQ: its queue refs must name every key
// and encode every option exactly as BullMQ does, for the version pinned in package.json.
import { QueueKeys, optsEncodeMap } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer, randomName } from '@telegram-receiver/testing';
import { closeQueues, createQueues } from '../src/queue-factory.ts';
import { OPTS_ENCODE_MAP, bullmqKeys, encodeJobOptions, queueRefs } from '../src/queue-refs.ts';

describe('bullmqKeys', () => {
  it("should name every key as BullMQ's QueueKeys does, with or without a hash tag", () => {
    for (const prefix of ['bull', '{tr}', `{${randomName('p')}}:x`]) {
      for (const name of ['updates', 'callbacks', 'notices']) {
        expect(bullmqKeys(prefix, name)).toEqual(new QueueKeys(prefix).getKeys(name));
      }
    }
  });
});

describe('encodeJobOptions', () => {
  it("should shorten exactly the option names BullMQ's optsEncodeMap shortens", () => {
    expect(OPTS_ENCODE_MAP).toEqual(optsEncodeMap);
    const longNames = Object.fromEntries(Object.keys(optsEncodeMap).map(name => [name, true]));
    expect(encodeJobOptions({ ...longNames, attempts: 3, jobId: 'j' })).toEqual({
      ...Object.fromEntries(Object.values(optsEncodeMap).map(short => [short, true])),
      attempts: 3,
      jobId: 'j',
    });
  });

  it('should leave out options that are undefined', () => {
    expect(encodeJobOptions({ attempts: undefined, delay: 5 })).toEqual({ delay: 5 });
  });
});

describe('queueRefs', () => {
  let server: RedisServer;
  let redis: Redis;
  beforeAll(async () => {
    server = await RedisServer.start({ appendOnly: false });
    redis = new Redis(server.url, { maxRetriesPerRequest: null });
  });
  afterAll(async () => {
    redis.disconnect();
    await server.close();
  });

  it("should carry the name, keys and default job options of createQueues' BullMQ queues", async () => {
    const prefix = `{${randomName('refs')}}`;
    for (const retention of [undefined, { hours: 2, max: 10 }]) {
      const queues = createQueues(redis, prefix, retention);
      const refs = queueRefs(prefix, retention);
      for (const name of ['updates', 'callbacks', 'notices'] as const) {
        expect(refs[name].name).toBe(queues[name].name);
        expect(refs[name].keys).toEqual(queues[name].keys);
        expect(refs[name].defaultJobOptions).toEqual(queues[name].defaultJobOptions);
      }
      await closeQueues(queues);
    }
  });
});
