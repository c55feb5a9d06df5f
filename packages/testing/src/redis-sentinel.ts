import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.ts';
import { RedisServer } from './redis-server.ts';
import { waitFor } from './wait-for.ts';

/** Options of {@link RedisSentinelSet.start}. */
export interface RedisSentinelSetOptions {
  /** Replicas of the master. @defaultValue 1 */
  replicas?: number;
  /** Sentinel processes; the quorum is a majority of them. @defaultValue 3 */
  sentinels?: number;
  /** The monitored master's name. @defaultValue 'mymaster' */
  masterName?: string;
  /** Sentinel's `down-after-milliseconds`: how soon a dead master is noticed. @defaultValue 1000 */
  downAfterMs?: number;
  /** Sentinel's `failover-timeout`. @defaultValue 5000 */
  failoverTimeoutMs?: number;
}

/**
 * A real Redis Sentinel deployment on 127.0.0.1 free ports, from the machine's `redis-server`
 * (run with `--sentinel`): one master, its replicas (AOF `always`), and sentinels monitoring them.
 * Kill the master and the sentinels elect a replica, as in production.
 */
export class RedisSentinelSet {
  readonly masterName: string;
  readonly servers: RedisServer[];
  readonly sentinels: { host: string; port: number }[];
  readonly #procs: ChildProcess[];
  readonly #dir: string;

  private constructor(
    masterName: string,
    servers: RedisServer[],
    sentinels: { host: string; port: number }[],
    procs: ChildProcess[],
    dir: string,
  ) {
    this.masterName = masterName;
    this.servers = servers;
    this.sentinels = sentinels;
    this.#procs = procs;
    this.#dir = dir;
  }

  static async start(opts: RedisSentinelSetOptions = {}): Promise<RedisSentinelSet> {
    const masterName = opts.masterName ?? 'mymaster';
    const count = opts.sentinels ?? 3;
    const master = await RedisServer.start();
    const servers = [master];
    for (let i = 0; i < (opts.replicas ?? 1); i++) {
      servers.push(await RedisServer.start({ extraArgs: ['--replicaof', '127.0.0.1', String(master.port)] }));
    }
    const dir = await mkdtemp(join(tmpdir(), 'tr-sentinel-'));
    const sentinels: { host: string; port: number }[] = [];
    const procs: ChildProcess[] = [];
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      const conf = join(dir, `sentinel-${port}.conf`);
      // Sentinel rewrites its config file as it learns the topology, so each gets its own.
      await writeFile(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${masterName} 127.0.0.1 ${master.port} ${Math.floor(count / 2) + 1}`,
          `sentinel down-after-milliseconds ${masterName} ${opts.downAfterMs ?? 1000}`,
          `sentinel failover-timeout ${masterName} ${opts.failoverTimeoutMs ?? 5000}`,
          `sentinel parallel-syncs ${masterName} 1`,
          '',
        ].join('\n'),
      );
      const proc = spawn('redis-server', [conf, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] });
      proc.stdout?.resume();
      proc.stderr?.resume();
      procs.push(proc);
      sentinels.push({ host: '127.0.0.1', port });
    }
    const set = new RedisSentinelSet(masterName, servers, sentinels, procs, dir);
    // Every replica in sync with the master (a WAIT right after start-up must be able to succeed).
    const probe = new Redis({ port: master.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
    probe.on('error', () => undefined);
    try {
      await waitFor(
        async () => {
          const info = await probe.info('replication');
          return (info.match(/state=online/g) ?? []).length === servers.length - 1;
        },
        { timeoutMs: 20_000 },
      );
    } finally {
      probe.disconnect();
    }
    // Ready once every sentinel knows the master and all its replicas.
    await waitFor(async () => set.#everySentinelSeesReplicas(servers.length - 1), { timeoutMs: 20_000 });
    return set;
  }

  async #everySentinelSeesReplicas(replicas: number): Promise<boolean> {
    for (const sentinel of this.sentinels) {
      const client = new Redis({ ...sentinel, lazyConnect: true, maxRetriesPerRequest: 0 });
      client.on('error', () => undefined);
      try {
        await client.connect();
        const seen = (await client.call('SENTINEL', 'REPLICAS', this.masterName)) as unknown[];
        if (seen.length < replicas) return false;
      } catch {
        return false;
      } finally {
        client.disconnect();
      }
    }
    return true;
  }

  /** The port of the master the sentinels agree on now. */
  async masterPort(): Promise<number> {
    const sentinel = new Redis({ ...this.sentinels[0], maxRetriesPerRequest: 1 });
    sentinel.on('error', () => undefined);
    try {
      const [, port] = (await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.masterName)) as [
        string,
        string,
      ];
      return Number(port);
    } finally {
      sentinel.disconnect();
    }
  }

  /** The server that is master now. */
  async master(): Promise<RedisServer> {
    const port = await this.masterPort();
    const server = this.servers.find(s => s.port === port);
    if (server === undefined) throw new Error(`no server of this set listens on ${port}`);
    return server;
  }

  /** SIGKILL the master, then wait until the sentinels have promoted another server. */
  async killMasterAndWaitForFailover(timeoutMs = 30_000): Promise<{ from: number; to: number }> {
    const old = await this.master();
    await old.kill();
    const to = await waitFor(
      async () => {
        const port = await this.masterPort();
        return port !== old.port ? port : undefined;
      },
      { timeoutMs },
    );
    return { from: old.port, to };
  }

  async close(): Promise<void> {
    for (const proc of this.#procs) proc.kill('SIGKILL');
    await Promise.all(this.servers.map(s => s.close()));
    await rm(this.#dir, { recursive: true, force: true });
  }
}
