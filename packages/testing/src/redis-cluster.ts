import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { RedisServer } from './redis-server.ts';
import { waitFor } from './wait-for.ts';

const run = promisify(execFile);

/** Options of {@link RedisClusterSet.start}. */
export interface RedisClusterSetOptions {
  /** Masters, each serving a share of the slots. @defaultValue 3 */
  masters?: number;
  /** Replicas of each master: with one, a killed master's replica takes over its slots. @defaultValue 0 */
  replicasPerMaster?: number;
}

/**
 * A real Redis Cluster on 127.0.0.1 free ports, from the machine's `redis-server` and `redis-cli`:
 * `masters` nodes (AOF `always`), slots spread by `redis-cli --cluster create`, and
 * `replicasPerMaster` replicas of each. `cluster-node-timeout` is 2 s: a killed master's replica is
 * elected a few seconds later, as in production.
 */
export class RedisClusterSet {
  readonly servers: RedisServer[];

  private constructor(servers: RedisServer[]) {
    this.servers = servers;
  }

  /** The seed nodes for a cluster client. */
  get nodes(): { host: string; port: number }[] {
    return this.servers.map(s => ({ host: '127.0.0.1', port: s.port }));
  }

  static async start(opts: RedisClusterSetOptions = {}): Promise<RedisClusterSet> {
    const servers: RedisServer[] = [];
    const replicas = opts.replicasPerMaster ?? 0;
    for (let i = 0; i < (opts.masters ?? 3) * (1 + replicas); i++) {
      servers.push(
        await RedisServer.start({
          extraArgs: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            '2000',
          ],
        }),
      );
    }
    const set = new RedisClusterSet(servers);
    try {
      await run('redis-cli', [
        '--cluster',
        'create',
        ...servers.map(s => `127.0.0.1:${s.port}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ]);
      await waitFor(async () => set.#allOk(), { timeoutMs: 20_000 });
    } catch (err) {
      await set.close();
      throw err;
    }
    return set;
  }

  /**
   * Every running node says `cluster_state:ok`, and every running replica is in sync with its master
   * (a replica that never synced is not eligible in a failover).
   */
  async #allOk(): Promise<boolean> {
    for (const server of this.servers.filter(s => s.running)) {
      const [info, replication] = (await this.#ask(server, ['CLUSTER', 'INFO'], ['INFO', 'replication'])) as [
        string,
        string,
      ];
      if (!info.includes('cluster_state:ok')) return false;
      if (replication.includes('role:slave') && !replication.includes('master_link_status:up')) return false;
    }
    return true;
  }

  /** The node's answers to `commands`, over one short-lived connection. */
  async #ask(server: RedisServer, ...commands: [string, ...string[]][]): Promise<unknown[]> {
    const client = new Redis({ port: server.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    try {
      return await Promise.all(commands.map(command => client.call(...command)));
    } finally {
      client.disconnect();
    }
  }

  /** The node that masters `key`'s slot now, as a running node sees the cluster. */
  async masterOf(key: string): Promise<RedisServer> {
    const seen = this.servers.find(s => s.running);
    if (seen === undefined) throw new Error('no node of the cluster is running');
    const [slot, ranges] = (await this.#ask(seen, ['CLUSTER', 'KEYSLOT', key], ['CLUSTER', 'SLOTS'])) as [
      number,
      [number, number, [string, number, ...unknown[]], ...unknown[]][],
    ];
    const port = ranges.find(([from, to]) => slot >= from && slot <= to)?.[2][1];
    const server = this.servers.find(s => s.port === port);
    if (server === undefined) throw new Error(`no node masters slot ${slot} of ${key}`);
    return server;
  }

  /**
   * Crash (SIGKILL) the master of `key`'s slot and wait until one of its replicas masters the slot
   * and the running nodes agree the cluster is ok again.
   */
  async killMasterOfAndWaitForFailover(
    key: string,
    timeoutMs = 30_000,
  ): Promise<{ from: number; to: number }> {
    const old = await this.masterOf(key);
    await old.kill();
    const to = await waitFor(
      async () => {
        const now = await this.masterOf(key).catch(() => undefined);
        return now !== undefined && now.port !== old.port && (await this.#allOk()) ? now.port : undefined;
      },
      { timeoutMs, intervalMs: 200 },
    );
    return { from: old.port, to };
  }

  /**
   * Start a killed node again on its port and data (its `nodes.conf` included): it rejoins the
   * cluster as a replica of the master that took over, and resolves once it is in sync.
   */
  async restartAndWaitForSync(port: number, timeoutMs = 30_000): Promise<void> {
    const server = this.servers.find(s => s.port === port);
    if (server === undefined) throw new Error(`no node on port ${port}`);
    await server.restart();
    await waitFor(async () => await this.#allOk(), { timeoutMs, intervalMs: 200 });
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map(s => s.close()));
  }
}
