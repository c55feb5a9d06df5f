import { Cluster, type Redis } from 'ioredis';
import {
  QUEUE_NAMES,
  laneIndexKey,
  laneListKey,
  parkedCountKey,
  parseLaneEntry,
  soloMember,
  type QueueName,
} from '@telegram-receiver/core';

/** A lane's unfinished job ids per queue, oldest first (what the lane lists hold). */
export async function laneJobIds(
  redis: Redis | Cluster,
  prefix: string,
  member: string,
): Promise<Record<QueueName, string[]>> {
  const read = async (queue: QueueName) =>
    (await redis.lrange(laneListKey(prefix, member, queue), 0, -1)).map(e => parseLaneEntry(e).jobId);
  return { updates: await read('updates'), callbacks: await read('callbacks') };
}

/**
 * Check the lane-index contract (`laneIndexKey`, `parkedCountKey` in core) against the lanes
 * themselves, for both queues, and return every violation found (empty = all hold):
 * - the index has one member per lane holding an item of that queue, scored by the accepted time
 *   of that lane's oldest item of the queue (and solo members only for unfinished jobs);
 * - the parked count equals the lane items that are not their lane's head;
 * - each lane's head job is waiting, running or delayed in BullMQ (not finished), and no parked job
 *   is in any BullMQ list.
 * Call it when no script runs (the pipeline idle or stopped), as it reads without a snapshot.
 */
export async function laneInvariantViolations(redis: Redis | Cluster, prefix: string): Promise<string[]> {
  const problems: string[] = [];
  const listKeys = await scanKeys(redis, `${prefix}:lane:*`);
  const lanes = new Map<string, Record<QueueName, { seq: number; acceptedAt: number; jobId: string }[]>>();
  for (const key of listKeys) {
    const m = /^(.*):lane:(.+):(updates|callbacks|seq)$/.exec(key);
    if (m === null || m[1] !== prefix) continue;
    const [, , member, kind] = m as unknown as [string, string, string, string];
    if (kind === 'seq') continue;
    const entry = lanes.get(member) ?? { updates: [], callbacks: [] };
    entry[kind as QueueName] = (await redis.lrange(key, 0, -1)).map(parseLaneEntry);
    lanes.set(member, entry);
  }
  const parked: Record<QueueName, number> = { updates: 0, callbacks: 0 };
  const heads = new Map<string, { queue: QueueName; jobId: string }>();
  for (const [member, lists] of lanes) {
    const all = [
      ...lists.updates.map(e => ({ ...e, queue: 'updates' as const })),
      ...lists.callbacks.map(e => ({ ...e, queue: 'callbacks' as const })),
    ].sort((a, b) => a.seq - b.seq);
    if (all.length === 0) continue;
    heads.set(member, { queue: all[0]!.queue, jobId: all[0]!.jobId });
    for (const e of all.slice(1)) {
      parked[e.queue] += 1;
      if ((await jobState(redis, prefix, e.queue, e.jobId)) !== 'none') {
        problems.push(`${member}: parked ${e.queue} job ${e.jobId} is in a BullMQ list`);
      }
    }
  }
  for (const [member, head] of heads) {
    const state = await jobState(redis, prefix, head.queue, head.jobId);
    if (state !== 'runnable') problems.push(`${member}: head ${head.queue} job ${head.jobId} is ${state}`);
  }
  for (const queue of [QUEUE_NAMES.updates, QUEUE_NAMES.callbacks]) {
    const stored = Number((await redis.get(parkedCountKey(prefix, queue))) ?? '0');
    if (stored !== parked[queue]) {
      problems.push(`${queue}: parked count ${stored}, lanes hold ${parked[queue]}`);
    }
    const index = await redis.zrange(laneIndexKey(prefix, queue), 0, -1, 'WITHSCORES');
    const seen = new Set<string>();
    for (let i = 0; i < index.length; i += 2) {
      const member = index[i]!;
      const score = Number(index[i + 1]);
      seen.add(member);
      const solo = soloMember('');
      if (member.startsWith(solo)) {
        const state = await jobState(redis, prefix, queue, member.slice(solo.length));
        if (state === 'finished' || state === 'none') {
          problems.push(`${queue}: index holds finished ${member}`);
        }
        continue;
      }
      const first = lanes.get(member)?.[queue][0];
      if (first === undefined) problems.push(`${queue}: index holds ${member}, which has no ${queue} item`);
      else if (first.acceptedAt !== score) {
        problems.push(
          `${queue}: index scores ${member} ${score}, its oldest item was accepted ${first.acceptedAt}`,
        );
      }
    }
    for (const [member, lists] of lanes) {
      if (lists[queue].length > 0 && !seen.has(member)) {
        problems.push(`${queue}: lane ${member} missing from the index`);
      }
    }
  }
  return problems;
}

/** Where a job is: in a runnable/running BullMQ list, finished, or in none (parked or unknown). */
async function jobState(
  redis: Redis | Cluster,
  prefix: string,
  queue: QueueName,
  jobId: string,
): Promise<'runnable' | 'finished' | 'none'> {
  const base = `${prefix}:${queue}`;
  const [wait, active, delayed, prioritized, completed, failed] = await Promise.all([
    redis.lpos(`${base}:wait`, jobId),
    redis.lpos(`${base}:active`, jobId),
    redis.zscore(`${base}:delayed`, jobId),
    redis.zscore(`${base}:prioritized`, jobId),
    redis.zscore(`${base}:completed`, jobId),
    redis.zscore(`${base}:failed`, jobId),
  ]);
  if (wait !== null || active !== null || delayed !== null || prioritized !== null) return 'runnable';
  if (completed !== null || failed !== null) return 'finished';
  return 'none';
}

// SCAN walks one node: on a Cluster, walk every master.
async function scanKeys(redis: Redis | Cluster, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  for (const node of redis instanceof Cluster ? redis.nodes('master') : [redis]) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
  }
  return keys;
}
