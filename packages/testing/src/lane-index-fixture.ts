import { laneIndexKey, parkedCountKey, type QueueName } from '@telegram-receiver/core';
import type { Redis } from 'ioredis';

/**
 * Writes the lane index and parked count the way the lane mechanism's contract says (see
 * `laneIndexKey` / `parkedCountKey` in core), for readers' tests that must not depend on how the
 * lane mechanism is built: one member per lane with unfinished items, scored by the epoch ms its
 * oldest one was accepted; an item without a chat is a lane of its own.
 */
export class LaneIndexFixture {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  /** An item of `lane` accepted at `acceptedAt` is unfinished (LT keeps the lane's oldest date). */
  async accept(
    queue: QueueName,
    lane: string,
    acceptedAt: number,
    opts: { parked?: boolean } = {},
  ): Promise<void> {
    const multi = this.#redis.multi().zadd(laneIndexKey(this.#prefix, queue), 'LT', acceptedAt, lane);
    if (opts.parked === true) multi.incr(parkedCountKey(this.#prefix, queue));
    await multi.exec();
  }

  /** Many lanes at once, one item each (a pipelined bulk write for large fixtures). */
  async acceptMany(queue: QueueName, lanes: readonly { lane: string; acceptedAt: number }[]): Promise<void> {
    const args = lanes.flatMap(l => [l.acceptedAt, l.lane]);
    for (let i = 0; i < args.length; i += 20_000) {
      await this.#redis.zadd(laneIndexKey(this.#prefix, queue), 'LT', ...args.slice(i, i + 20_000));
    }
  }
}
