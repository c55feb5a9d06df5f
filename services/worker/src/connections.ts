import {
  closeConnection,
  createProducerConnection,
  createWorkerConnection,
  type Logger,
  type RedisEndpoint,
  type RedisClient,
} from '@telegram-receiver/core';

/**
 * The Redis connections of a worker process. Like the gateway's, they are created by `main.ts` (or
 * a test) and handed to `createWorkerService`, which never closes them: their owner does, after
 * `stop()`.
 */
export interface WorkerConnections {
  /** The queues' connection (BullMQ defines its ~50 scripts on it). */
  commands: RedisClient;
  /**
   * Every job's lane, ledger, callback-state, pacing and settings commands: auto-pipelined, so the
   * commands of the jobs running at once leave in one write instead of one each. A connection of
   * its own, because an auto-pipeline copies every script defined on its connection.
   */
  state: RedisClient;
  /** Settings change notifications (SUBSCRIBE). */
  subscriber: RedisClient;
  /** The `updates` worker's blocking connection. */
  updates: RedisClient;
  /** The `callbacks` worker's blocking connection. */
  callbacks: RedisClient;
  /** The `notices` worker's blocking connection (still-working checks). */
  notices: RedisClient;
  /** /ready's probe: fails fast (1 s) instead of queueing while Redis is away. */
  probe: RedisClient;
}

/** Open the worker's connections to `endpoint` (they connect in the background and reconnect by themselves). */
export function createWorkerConnections(endpoint: RedisEndpoint, logger: Logger): WorkerConnections {
  const connect = (name: string, autoPipelining = false) => {
    const redis = createWorkerConnection({ ...endpoint, name, autoPipelining });
    // ioredis reconnects by itself; without a listener an error event would crash the process.
    redis.on('error', (err: Error) => logger.debug({ err, connection: name }, 'redis connection error'));
    return redis;
  };
  const probe = createProducerConnection({ ...endpoint, name: 'worker-probe', commandTimeoutMs: 1000 });
  probe.on('error', (err: Error) => logger.debug({ err }, 'redis probe connection error'));
  return {
    commands: connect('worker-commands'),
    state: connect('worker-state', true),
    subscriber: connect('worker-settings'),
    updates: connect('worker-updates'),
    callbacks: connect('worker-callbacks'),
    notices: connect('worker-notices'),
    probe,
  };
}

/** Close every connection of {@link createWorkerConnections}. */
export async function closeWorkerConnections(connections: WorkerConnections): Promise<void> {
  await Promise.all(Object.values(connections).map(c => closeConnection(c)));
}
