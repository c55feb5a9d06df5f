import { Redis, type RedisOptions } from 'ioredis';

/** Options shared by the connection factories. */
export interface ConnectionOptions {
  /** `redis://` or `rediss://` URL. */
  url: string;
  /** CLIENT SETNAME, visible in `CLIENT LIST`. */
  name: string;
}

// Reconnect quickly after a Redis restart, but never hammer it: 50 ms, 100 ms, … capped at 1 s.
const retryStrategy = (times: number) => Math.min(times * 50, 1000);

/**
 * A connection for code on a request path (the gateway's producer, readiness probes): commands fail
 * at once while Redis is unreachable instead of queueing, so the webhook can answer 503 and
 * Telegram keeps the update. BullMQ's production guide recommends exactly this for producers.
 * `autoPipelining` (default false) batches the commands of one event-loop turn into one write.
 * @see https://docs.bullmq.io/guide/going-to-production
 */
export function createProducerConnection(
  opts: ConnectionOptions & { commandTimeoutMs?: number; autoPipelining?: boolean },
): Redis {
  const extra: RedisOptions = {
    connectionName: opts.name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: opts.commandTimeoutMs ?? 2000,
    retryStrategy,
    // Many webhooks enqueue in the same tick: one socket write for all of them (REDIS_AUTO_PIPELINING).
    enableAutoPipelining: opts.autoPipelining ?? false,
  };
  return new Redis(opts.url, extra);
}

/**
 * A connection for BullMQ workers and other background loops: commands wait for Redis to come back
 * (`maxRetriesPerRequest: null`, which BullMQ requires for blocking commands). `autoPipelining`
 * (default false) batches the commands of one event-loop turn into one write.
 */
export function createWorkerConnection(opts: ConnectionOptions & { autoPipelining?: boolean }): Redis {
  return new Redis(opts.url, {
    connectionName: opts.name,
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    connectTimeout: 5000,
    retryStrategy,
    // Commands issued in the same event-loop turn go out in one write (one syscall, one read on
    // Redis's side): for a connection many concurrent jobs share. Never for blocking commands.
    enableAutoPipelining: opts.autoPipelining ?? false,
  });
}

/** Close a connection politely (QUIT), falling back to a hard disconnect when Redis is gone. */
export async function closeConnection(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  try {
    await Promise.race([redis.quit(), new Promise((_, reject) => setTimeout(reject, 1000).unref())]);
  } catch {
    redis.disconnect();
  }
}
