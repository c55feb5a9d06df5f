import type { QueueName } from '../job-contracts.ts';

/**
 * Names of a chat lane's mailbox keys. A lane is one chat of one bot (`chatLaneOf`); its mailbox
 * holds every unfinished item of that chat, of both queues, in the order the gateway accepted them:
 *
 * - `<prefix>:lane:<member>:updates` and `…:callbacks`: lists of `<seq>|<acceptedMs>|<jobId>`, oldest
 *   first, one per queue (so each queue's oldest unfinished item of the lane is its list's head);
 * - `<prefix>:lane:<member>:seq`: the lane's counter, which orders the two lists' items between them.
 *
 * The lane's head (the lowest `seq` of both lists) is the only one of its items in BullMQ's state
 * lists; the others are parked. All these keys, the queues' keys and the lane index share the
 * prefix's hash tag (QUEUE_PREFIX such as `{tr}`), so the lane scripts run in one Redis Cluster
 * slot; the scripts build the lane keys from the prefix, as BullMQ's own scripts build job keys.
 */

/** The lane's member in the lane index (`laneIndexKey`): `<bot>:<lane>`, e.g. `alpha:chat:42`. */
export function laneMember(bot: string, lane: string): string {
  return `${bot}:${lane}`;
}

/**
 * The lane-index member of an item that belongs to no chat (a lane of its own). Bot names are
 * lower-case letters, digits, `_` and `-`, so no lane member starts with `#`.
 */
export function soloMember(jobId: string): string {
  return `#job:${jobId}`;
}

/** The list of a lane's unfinished items of `queue`. */
export function laneListKey(prefix: string, member: string, queue: QueueName): string {
  return `${prefix}:lane:${member}:${queue}`;
}

/** One entry of a lane list, as the scripts write it. */
export interface LaneEntry {
  seq: number;
  acceptedAt: number;
  jobId: string;
}

/** Parse a lane list entry (`<seq>|<acceptedMs>|<jobId>`). */
export function parseLaneEntry(entry: string): LaneEntry {
  const m = /^(\d+)\|(\d+)\|(.+)$/.exec(entry);
  const [, seq, acceptedAt, jobId] = m ?? [];
  if (seq === undefined || acceptedAt === undefined || jobId === undefined) {
    throw new Error(`not a lane entry: ${entry}`);
  }
  return { seq: Number(seq), acceptedAt: Number(acceptedAt), jobId };
}
