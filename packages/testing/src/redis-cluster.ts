import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { RedisServer } from './redis-server.ts';
import { waitFor } from './wait-for.ts';

const run = promisify(execFile);

/**
 * A real Redis Cluster on 127.0.0.1 free ports, from the machine's `redis-server` and `redis-cli`:
 * `masters` nodes (AOF `always`), slots spread by `redis-cli --cluster create`, no replicas.
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

  static async start(opts: { masters?: number } = {}): Promise<RedisClusterSet> {
    const servers: RedisServer[] = [];
    for (let i = 0; i < (opts.masters ?? 3); i++) {
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
        '0',
        '--cluster-yes',
      ]);
      await waitFor(async () => set.#allOk(), { timeoutMs: 20_000 });
    } catch (err) {
      await set.close();
      throw err;
    }
    return set;
  }

  async #allOk(): Promise<boolean> {
    for (const server of this.servers) {
      const client = new Redis({ port: server.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
      client.on('error', () => undefined);
      try {
        const info = (await client.call('CLUSTER', 'INFO')) as string;
        if (!info.includes('cluster_state:ok')) return false;
      } finally {
        client.disconnect();
      }
    }
    return true;
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map(s => s.close()));
  }
}
