import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/**
 * A connection as the factories return it: one Redis (a URL alone, or the master Sentinel names),
 * or a Redis Cluster. Both speak the same commands; on a Cluster every command's keys must share a
 * slot, which a hash-tagged QUEUE_PREFIX (`{tr}`) guarantees for every key we write.
 */
export type RedisClient = Redis | Cluster;

/**
 * Where Redis is: a URL alone, Sentinel, or Cluster. With sentinels or cluster nodes, the URL still
 * gives the password, user and TLS (`rediss://`) of the data nodes (and, with sentinels, the
 * database); its host is not used.
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
  /** Seed nodes of a Redis Cluster (`REDIS_CLUSTER_NODES`); the others are discovered. */
  clusterNodes?: readonly { host: string; port: number }[] | undefined;
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
  REDIS_CLUSTER_NODES?: readonly { host: string; port: number }[] | undefined;
}): RedisEndpoint {
  return {
    url: config.REDIS_URL,
    sentinels: config.REDIS_SENTINELS,
    sentinelMaster: config.REDIS_SENTINEL_MASTER,
    sentinelPassword: config.REDIS_SENTINEL_PASSWORD,
    clusterNodes: config.REDIS_CLUSTER_NODES,
  };
}

/** The user, password and TLS of the URL, as ioredis options (for Sentinel and Cluster data nodes). */
function credentialsOf(url: URL): RedisOptions {
  return {
    ...(url.username === '' ? {} : { username: decodeURIComponent(url.username) }),
    ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
  };
}

/**
 * A connection to `endpoint` with `options`: straight to the URL, to the master the sentinels
 * name, or to the cluster its seed nodes belong to.
 */
function connectTo(endpoint: RedisEndpoint, options: RedisOptions): RedisClient {
  if (endpoint.clusterNodes !== undefined && endpoint.clusterNodes.length > 0) {
    return connectToCluster(endpoint, endpoint.clusterNodes, options);
  }
  if (endpoint.sentinels === undefined || endpoint.sentinels.length === 0) {
    return new Redis(endpoint.url, options);
  }
  const url = new URL(endpoint.url);
  const db = Number(url.pathname.slice(1) || '0');
  return new Redis({
    ...options,
    sentinels: endpoint.sentinels.map(s => ({ host: s.host, port: s.port })),
    name: endpoint.sentinelMaster ?? 'mymaster',
    ...credentialsOf(url),
    ...(endpoint.sentinelPassword === undefined ? {} : { sentinelPassword: endpoint.sentinelPassword }),
    ...(Number.isSafeInteger(db) ? { db } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {}, enableTLSForSentinelMode: true } : {}),
    // After a failover the old master may answer READONLY for a moment: reconnect to the new one.
    reconnectOnError: err => err.message.startsWith('READONLY'),
  });
}

/**
 * A Cluster client with the same semantics as `options` give one connection: the offline queue,
 * the reconnect delays and auto-pipelining are the cluster's (a command is queued, or refused,
 * until the cluster is ready), everything else applies to each node's connection (command timeout,
 * retries per request, CLIENT SETNAME, credentials, TLS).
 */
function connectToCluster(
  endpoint: RedisEndpoint,
  nodes: readonly { host: string; port: number }[],
  options: RedisOptions,
): Cluster {
  const { retryStrategy: retry, enableOfflineQueue, enableAutoPipelining, ...nodeOptions } = options;
  const url = new URL(endpoint.url);
  const tls = url.protocol === 'rediss:';
  const clusterOptions: ClusterOptions = {
    enableOfflineQueue,
    enableAutoPipelining,
    // When no node answers, ask the seeds again with the same delays as a single connection.
    clusterRetryStrategy: times => retry?.(times) ?? null,
    // Reads from masters only: a replica may lag, and the lanes and the ledger read their own writes.
    scaleReads: 'master',
    redisOptions: { ...nodeOptions, ...credentialsOf(url), ...(tls ? { tls: {} } : {}) },
    // With TLS, keep the node's name for certificate checks instead of resolving it to an address.
    ...(tls ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
  };
  return new Cluster(
    nodes.map(n => ({ host: n.host, port: n.port })),
    clusterOptions,
  );
}

/** Options of {@link createProducerConnection}. */
interface ProducerOptions extends ConnectionOptions {
  /** Give up on a command after this long. @defaultValue 2000 */
  commandTimeoutMs?: number;
  /** Send the commands of one event-loop turn in one write. @defaultValue false */
  autoPipelining?: boolean;
}

/** Options of {@link createWorkerConnection}. */
interface WorkerOptions extends ConnectionOptions {
  /** Send the commands of one event-loop turn in one write. @defaultValue false */
  autoPipelining?: boolean;
}

// Options that name no cluster: the factories then return a plain Redis.
type NoCluster = { clusterNodes?: undefined };

// Reconnect quickly after a Redis restart, but never hammer it: 50 ms, 100 ms, … capped at 1 s.
const retryStrategy = (times: number) => Math.min(times * 50, 1000);

/**
 * A connection for code on a request path (the gateway's producer, readiness probes): commands fail
 * at once while Redis is unreachable instead of queueing, so the webhook can answer 503 and
 * Telegram keeps the update. BullMQ's production guide recommends exactly this for producers. On
 * a Cluster the same holds: no offline queue while the cluster is not ready or a node's connection
 * is down, and every command bounded by the command timeout, MOVED/ASK redirections included.
 * A plain `Redis` when the options name no cluster nodes.
 * `autoPipelining` (default false) batches the commands of one event-loop turn into one write.
 * @see https://docs.bullmq.io/guide/going-to-production
 */
export function createProducerConnection(opts: ProducerOptions & NoCluster): Redis;
export function createProducerConnection(opts: ProducerOptions): RedisClient;
export function createProducerConnection(opts: ProducerOptions): RedisClient {
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
 * (default false) batches the commands of one event-loop turn into one write. A plain `Redis` when
 * the options name no cluster nodes.
 */
export function createWorkerConnection(opts: WorkerOptions & NoCluster): Redis;
export function createWorkerConnection(opts: WorkerOptions): RedisClient;
export function createWorkerConnection(opts: WorkerOptions): RedisClient {
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
export async function closeConnection(redis: RedisClient): Promise<void> {
  if (redis.status === 'end') return;
  try {
    await Promise.race([redis.quit(), new Promise((_, reject) => setTimeout(reject, 1000).unref())]);
  } catch {
    redis.disconnect();
  }
}
