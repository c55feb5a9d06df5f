import { Redis, type RedisOptions } from 'ioredis';

/**
 * Where Redis is: a URL alone, or Sentinel. With sentinels, the URL still gives the password, user,
 * database and TLS (`rediss://`) of the data nodes; its host is not used.
 */
export interface RedisEndpoint {
  /** `redis://` or `rediss://` URL. */
  url: string;
  /** Sentinels to ask for the current master (`REDIS_SENTINELS`); unset: the URL's host. */
  sentinels?: readonly { host: string; port: number }[] | undefined;
  /** The master's name as the sentinels know it. @defaultValue 'mymaster' */
  sentinelMaster?: string | undefined;
  /** Password of the sentinels themselves, when they require one. */
  sentinelPassword?: string | undefined;
}

/** Options shared by the connection factories. */
export interface ConnectionOptions extends RedisEndpoint {
  /** CLIENT SETNAME, visible in `CLIENT LIST`. */
  name: string;
}

/** The endpoint a service's settings name (`REDIS_URL`, `REDIS_SENTINELS`, …). */
export function redisEndpointOf(config: {
  REDIS_URL: string;
  REDIS_SENTINELS?: readonly { host: string; port: number }[] | undefined;
  REDIS_SENTINEL_MASTER?: string | undefined;
  REDIS_SENTINEL_PASSWORD?: string | undefined;
}): RedisEndpoint {
  return {
    url: config.REDIS_URL,
    sentinels: config.REDIS_SENTINELS,
    sentinelMaster: config.REDIS_SENTINEL_MASTER,
    sentinelPassword: config.REDIS_SENTINEL_PASSWORD,
  };
}

/** A connection to `endpoint` with `options`: straight to the URL, or to the master the sentinels name. */
function connectTo(endpoint: RedisEndpoint, options: RedisOptions): Redis {
  if (endpoint.sentinels === undefined || endpoint.sentinels.length === 0) {
    return new Redis(endpoint.url, options);
  }
  const url = new URL(endpoint.url);
  const db = Number(url.pathname.slice(1) || '0');
  return new Redis({
    ...options,
    sentinels: endpoint.sentinels.map(s => ({ host: s.host, port: s.port })),
    name: endpoint.sentinelMaster ?? 'mymaster',
    ...(url.username === '' ? {} : { username: decodeURIComponent(url.username) }),
    ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
    ...(endpoint.sentinelPassword === undefined ? {} : { sentinelPassword: endpoint.sentinelPassword }),
    ...(Number.isSafeInteger(db) ? { db } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {}, enableTLSForSentinelMode: true } : {}),
    // After a failover the old master may answer READONLY for a moment: reconnect to the new one.
    reconnectOnError: err => err.message.startsWith('READONLY'),
  });
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
  return connectTo(opts, extra);
}

/**
 * A connection for BullMQ workers and other background loops: commands wait for Redis to come back
 * (`maxRetriesPerRequest: null`, which BullMQ requires for blocking commands). `autoPipelining`
 * (default false) batches the commands of one event-loop turn into one write.
 */
export function createWorkerConnection(opts: ConnectionOptions & { autoPipelining?: boolean }): Redis {
  return connectTo(opts, {
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
