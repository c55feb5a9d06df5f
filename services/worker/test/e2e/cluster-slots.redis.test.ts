// On a real Redis Cluster (3 masters), with a hash-tagged QUEUE_PREFIX, every command our code and
// BullMQ send — every Lua script we own, BullMQ's scripts as we drive them, the MULTIs — names only
// keys of the prefix's slot. Each of our scripts is run through the class that owns it; every
// command is recorded with the keys it names and each key's slot is asked of the cluster itself
// (CLUSTER KEYSLOT). Redis Cluster refuses a script that touches a key of another slot, declared or
// not: no master may have counted a CROSSSLOT or cross-slot script error. And a static check: the
// files that hold Lua are exactly those this test drives, so a new script must be added here.
import type { IncomingMessage } from 'node:http';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UnrecoverableError, Worker } from 'bullmq';
import type { Cluster } from 'ioredis';
import { type Command } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  QUEUE_NAMES,
  QueueStateReader,
  SettingsStore,
  closeQueues,
  createQueues,
  createLogger,
  createWorkerConnection,
  legacyCallbackStateKey,
  type Queues,
} from '@telegram-receiver/core';
import { RedisClusterSet, randomName, waitFor } from '@telegram-receiver/testing';
import { CallbackWriter } from '../../../gateway/src/callback-writer.ts';
import { DeadLetters } from '../../../gateway/src/dead-letters.ts';
import { HttpRejection } from '../../../gateway/src/errors/http-rejection.ts';
import { ReadinessProbe } from '../../../gateway/src/readiness.ts';
import { FailedSecretThrottle } from '../../../gateway/src/secret-throttle.ts';
import { UpdateBatcher } from '../../../gateway/src/update-batcher.ts';
import { WebhookInfoPoller } from '../../../gateway/src/webhook-info-poller.ts';
import { LaneAdvancer } from '../../src/lanes/lane-advancer.ts';
import { SendLedger } from '../../src/ledger/send-ledger.ts';
import { ProviderSlots } from '../../src/processors/provider-slots.ts';
import { SendPacer } from '../../src/processors/send-pacer.ts';
import {
  deleteCallbackState,
  loadCallbackState,
  saveCallbackState,
} from '../../src/updates/callback-state.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../../..');

// Every source file that holds Lua (a `redis.call`), each driven below through its owner, except
// attempt-trace.ts: it runs only under a sampled span (driven in tracing.redis.test.ts), and its one
// key is the job's own hash, which carries the prefix's hash tag like every BullMQ key.
const LUA_FILES = [
  'services/worker/src/attempt-trace.ts', // remember the failed attempt's span (one key: the job)
  'packages/core/src/lanes/lane-lua.ts', // shared by the append, advance and sweep scripts
  'packages/core/src/lanes/lane-writer.ts', // append (gateway: updates, callbacks, replays)
  'services/gateway/src/secret-throttle.ts', // failed-secret counter
  'services/gateway/src/webhook-info-poller.ts', // poller lease
  'services/worker/src/lanes/lane-advancer.ts', // advance, sweep
  'services/worker/src/ledger/send-ledger.ts', // forgo, reopen (the still-working notice's step)
  'services/worker/src/processors/provider-slots.ts', // ElevenLabs slots
  'services/worker/src/processors/send-pacer.ts', // Telegram pacing
];

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter(e => e.isFile() && e.name.endsWith('.ts'))
    .map(e => join(e.parentPath, e.name))
    .filter(p => /\/(packages|services)\/[^/]+\/src\//.test(p));
}

let set: RedisClusterSet;
beforeAll(async () => {
  set = await RedisClusterSet.start({ masters: 3 });
}, 60_000);
afterAll(async () => {
  await set?.close();
});

/** Record the keys of every command `cluster` sends (pipelines and MULTI included), and every Redis error. */
function recordKeys(cluster: Cluster): { seen: { name: string; keys: string[] }[]; errors: string[] } {
  const seen: { name: string; keys: string[] }[] = [];
  const errors: string[] = [];
  const send = cluster.sendCommand.bind(cluster);
  cluster.sendCommand = ((command: Command, ...rest: unknown[]) => {
    const keys = command.getKeys().map(String);
    if (keys.length > 0) seen.push({ name: command.name, keys });
    command.promise.catch((err: unknown) => errors.push(`${command.name}: ${String(err)}`));
    return (send as (...args: unknown[]) => unknown)(command, ...rest);
  }) as typeof cluster.sendCommand;
  return { seen, errors };
}

/** Errors each master has counted, by error code (`INFO errorstats`). */
async function errorStats(cluster: Cluster): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const node of cluster.nodes('master')) {
    for (const m of (await node.info('errorstats')).matchAll(/^errorstat_(\w+):count=(\d+)/gm)) {
      counts[m[1] as string] = (counts[m[1] as string] ?? 0) + Number(m[2]);
    }
  }
  return counts;
}

describe('Lua scripts and BullMQ on Redis Cluster', () => {
  it('should find Lua only in the files this test drives', async () => {
    const withLua: string[] = [];
    for (const file of await sourceFiles(root)) {
      if (/redis\.call\b|defineCommand\(|\.evalsha\(|new LuaScript\(/.test(await readFile(file, 'utf8'))) {
        withLua.push(relative(root, file));
      }
    }
    // LuaScript runs the scripts of its users (EVALSHA, then EVAL on NOSCRIPT).
    expect(withLua.sort()).toEqual([...LUA_FILES, 'services/worker/src/redis/lua-script.ts'].sort());
  });

  it(
    'should keep every key of every command in the prefix slot, scripts included',
    { timeout: 60_000 },
    async () => {
      const prefix = `{${randomName('cs')}}`;
      const cluster = createWorkerConnection({
        url: 'redis://127.0.0.1:1',
        clusterNodes: set.nodes,
        name: 'cluster-slots',
      }) as Cluster;
      cluster.on('error', () => undefined);
      const subscriber = cluster.duplicate();
      subscriber.on('error', () => undefined);
      await waitFor(() => cluster.status === 'ready', { message: 'the cluster client to be ready' });
      const before = await errorStats(cluster);
      const { seen, errors } = recordKeys(cluster);
      const logger = createLogger({ service: 'cluster-slots', level: 'silent' });
      const queues: Queues = createQueues(cluster, prefix, { hours: 1, max: 100 });
      const lanes = new LaneAdvancer({ redis: cluster, queues, prefix });
      const workers: Worker[] = [];
      try {
        // Gateway: updates of 3 chats (3 each) in batches, and a callback per chat in its lane.
        const batcher = new UpdateBatcher({ queue: queues.updates, redis: cluster, prefix });
        const updates = [];
        for (let k = 0; k < 3; k++) {
          for (const chat of [1, 2, 3]) {
            const updateId = k * 10 + chat;
            updates.push({
              bot: 'b',
              updateId,
              update: { update_id: updateId, message: { text: `c${chat} p${k}` } } as never,
              lane: `chat:${chat}`,
            });
          }
        }
        expect(await Promise.all(updates.map(u => batcher.submit(u)))).toEqual(updates.map(() => true));
        // WAIT is routed to the slot's master; this cluster has no replicas, so the batch is refused.
        const waiting = new UpdateBatcher({
          queue: queues.updates,
          redis: cluster,
          prefix,
          replicas: { count: 1, timeoutMs: 50 },
        });
        await expect(
          waiting.submit({ bot: 'b', updateId: 99, update: { update_id: 99 } as never, lane: 'chat:9' }),
        ).rejects.toThrow('only 0 of 1 Redis replicas acknowledged');
        for (const chat of [1, 2, 3]) {
          await saveCallbackState(cluster, prefix, `req-${chat}`, {
            chat_id: chat,
            message_id: 1,
            prompt: 'p',
            original_was_audio: false,
            created_at: new Date().toISOString(),
            bot: 'b',
          });
        }
        const callbacks = new CallbackWriter({ queue: queues.callbacks, redis: cluster, prefix });
        for (const chat of [1, 2, 3, 4]) {
          const result = {
            requestId: `req-${chat}`,
            success: true,
            iterations: 1,
            maxIterations: 1,
            output: 'o',
            error: null,
            exitCode: 0,
          };
          expect(await callbacks.write(result)).toBe(true);
        }

        // Worker: both queues through BullMQ with the lanes advanced by their scripts; chat 2's
        // first update fails once (retried with backoff: delayed, then promoted), chat 3's first
        // fails for good (a dead letter).
        const order: string[] = [];
        const failedOnce = new Set<string>();
        for (const queue of [QUEUE_NAMES.updates, QUEUE_NAMES.callbacks]) {
          const worker = new Worker(
            queue,
            async job => {
              const id = String(job.id);
              if (id === 'b-12' && !failedOnce.has(id)) {
                failedOnce.add(id);
                throw new Error('transient');
              }
              if (id.startsWith('b-3')) throw new UnrecoverableError('poison');
              order.push(id);
            },
            {
              connection: cluster,
              prefix,
              concurrency: 4,
              settings: { backoffStrategy: () => 50 },
            },
          );
          worker.on('error', () => undefined);
          lanes.attach(queue, worker);
          workers.push(worker);
        }
        // 8 updates (chat 3's first is poison), the one the WAIT refused (stored all the same: the 503
        // only makes Telegram send it again, and the job id dedups that), and 4 callbacks.
        await waitFor(async () => (await queues.updates.getFailedCount()) === 1 && order.length === 13, {
          timeoutMs: 20_000,
          message: 'every job processed or dead',
        });
        expect(order).toContain('b-99');
        expect(await lanes.sweep()).toBeGreaterThanOrEqual(0);

        // The worker's own keys: the send ledger, the callback state, pacing and provider slots.
        const ledger = new SendLedger({ redis: cluster, prefix });
        await ledger.once('b:1:reply', async () => 'sent');
        expect(await ledger.state('b:1:reply')).toBe('done');
        expect(await ledger.forgo('req-1:notice')).toBe('forgone');
        expect(await ledger.reopen('req-1:notice')).toBe(true);
        expect(await loadCallbackState(cluster, prefix, 'req-1')).not.toBeNull();
        expect(await deleteCallbackState(cluster, prefix, 'req-1')).toBe(true);
        const pacer = new SendPacer({ redis: cluster, prefix });
        expect(await pacer.reserve('b', 1)).toBeGreaterThanOrEqual(0);
        const slots = new ProviderSlots({ redis: cluster, key: `${prefix}:slots:elevenlabs`, limit: 2 });
        expect(await slots.run(async () => slots.held())).toBe(1);

        // The gateway's operator side: dead letters, throttle, poller lease, settings, readiness.
        const dead = new DeadLetters({ queues, redis: cluster, prefix, redactor: { redact: s => s } });
        const listed = await dead.list({ queue: 'updates' });
        expect(listed.items.map(i => i.id)).toEqual(['b-3']);
        expect(await dead.inspect('updates', 'b-3')).toMatchObject({ reason: 'poison' });
        expect(await dead.stats()).toMatchObject({ updates: { count: 1 } });
        const replayed = await dead.replay('updates', ['b-3']);
        expect(replayed).toEqual([{ id: 'b-3', outcome: 'replayed', newId: 'b-3-r1' }]);
        await waitFor(async () => (await queues.updates.getFailedCount()) === 1, {
          message: 'the replay to fail again',
        });
        expect(await dead.discard('updates', 'b-3-r1')).toBe(true);
        const throttle = new FailedSecretThrottle({ redis: cluster, prefix, limit: 1, logger });
        const req = { socket: { remoteAddress: '10.1.2.3' }, headers: {} } as IncomingMessage;
        const unauthorized = new HttpRejection({ status: 401, body: 'Unauthorized' });
        expect((await throttle.refuse(req, 'webhook', unauthorized)).status).toBe(401);
        expect((await throttle.refuse(req, 'webhook', unauthorized)).status).toBe(429);
        const poller = new WebhookInfoPoller({
          bots: { all: () => [] } as never,
          telegram: { get: () => ({ getWebhookInfo: async () => ({ pending_update_count: 0 }) }) },
          redis: cluster,
          prefix,
          registry: { registerMetric: () => undefined } as never,
          logger,
          intervalMs: 1000,
          holder: 'me',
        });
        expect(await poller.poll()).toBe(true);
        const settings = new SettingsStore({ redis: cluster, subscriber, prefix, logger });
        await settings.start();
        expect(await settings.update({ debug: true })).toMatchObject({ debug: true });
        expect((await new ReadinessProbe({ redis: cluster, key: `${prefix}:ready:x` }).check()).ready).toBe(
          true,
        );
        const [state] = await new QueueStateReader({ redis: cluster, prefix }).read(['updates']);
        expect(state).toMatchObject({ queue: 'updates', active: 0, deadLetters: 0 });
        await settings.close();

        // BullMQ's housekeeping scripts.
        await queues.updates.pause();
        await queues.updates.resume();
        await queues.updates.getJobCounts();
        await queues.updates.clean(0, 100, 'completed');
        await Promise.all(workers.map(w => w.close()));
        await queues.callbacks.obliterate({ force: true });

        // Every key named, of every command, is in the prefix's slot — but the seed's callback
        // key, which is only ever read or deleted on its own.
        const slotOf = new Map<string, number>();
        const allKeys = new Set(seen.flatMap(c => c.keys));
        for (const key of [prefix, ...allKeys]) {
          slotOf.set(key, Number(await cluster.call('CLUSTER', 'KEYSLOT', key)));
        }
        const slot = slotOf.get(prefix);
        const legacy = new Set([1, 2, 3, 4].map(chat => legacyCallbackStateKey(`req-${chat}`)));
        const outside = seen.filter(c => c.keys.some(k => slotOf.get(k) !== slot));
        for (const c of outside) {
          expect(c.keys.length, `${c.name} ${c.keys.join(' ')}`).toBe(1);
          expect(legacy.has(c.keys[0] as string), `${c.name} ${c.keys.join(' ')}`).toBe(true);
          expect(['get', 'del']).toContain(c.name);
        }
        const scripts = seen.filter(c => c.name === 'evalsha' || c.name === 'eval');
        expect(scripts.length).toBeGreaterThan(20);
        expect(scripts.filter(c => c.keys.some(k => slotOf.get(k) !== slot))).toEqual([]);
        expect(seen.some(c => c.name === 'exec')).toBe(false); // ioredis names keys on the MULTI's commands

        // The cluster agrees: no master refused a command for its keys' slots.
        const after = await errorStats(cluster);
        expect(after.CROSSSLOT ?? 0).toBe(before.CROSSSLOT ?? 0);
        // Nor any script for a key of another slot (Redis answers those with a plain ERR).
        expect(errors.filter(e => /CROSSSLOT|slot|non local key|MOVED|ASK/i.test(e))).toEqual([]);
        // And every key of the deployment lives on one master.
        const owners: number[] = [];
        for (const node of cluster.nodes('master')) {
          const [, keys] = await node.scan('0', 'MATCH', `${prefix}*`, 'COUNT', 100_000);
          if (keys.length > 0) owners.push(Number(node.options.port));
        }
        expect(owners).toHaveLength(1);
      } finally {
        await Promise.all(workers.map(w => w.close(true)));
        await lanes.stop();
        await closeQueues(queues);
        subscriber.disconnect();
        cluster.disconnect();
      }
    },
  );
});
