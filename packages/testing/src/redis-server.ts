import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.ts';

/** Options of {@link RedisServer.start}. */
export interface RedisServerOptions {
  /** Keep an append-only file so {@link RedisServer.restart} brings the data back. @defaultValue true */
  appendOnly?: boolean;
  /** AOF fsync policy. @defaultValue 'always' (nothing acknowledged is lost by kill -9) */
  appendFsync?: 'always' | 'everysec' | 'no';
  /** Binary to run. @defaultValue 'redis-server' */
  binary?: string;
  /** More arguments (`--replicaof …`, `--cluster-enabled yes`, …). @defaultValue [] */
  extraArgs?: readonly string[];
}

/**
 * A private redis-server on a free 127.0.0.1 port, owned by one test file (never the machine's
 * 6379). It can be stopped, killed with SIGKILL and restarted on the same port with its AOF, to test
 * what the services do while Redis is gone and after it comes back.
 */
export class RedisServer {
  readonly port: number;
  readonly dir: string;
  readonly #opts: Required<RedisServerOptions>;
  #proc: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();

  private constructor(port: number, dir: string, opts: Required<RedisServerOptions>) {
    this.port = port;
    this.dir = dir;
    this.#opts = opts;
  }

  static async start(opts: RedisServerOptions = {}): Promise<RedisServer> {
    const dir = await mkdtemp(join(tmpdir(), 'tr-redis-'));
    const server = new RedisServer(await freePort(), dir, {
      appendOnly: opts.appendOnly ?? true,
      appendFsync: opts.appendFsync ?? 'always',
      binary: opts.binary ?? 'redis-server',
      extraArgs: opts.extraArgs ?? [],
    });
    await server.#spawn();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.#proc !== undefined && this.#proc.exitCode === null && this.#proc.signalCode === null;
  }

  async #spawn(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--save',
      '',
      '--appendonly',
      this.#opts.appendOnly ? 'yes' : 'no',
      '--appendfsync',
      this.#opts.appendFsync,
      '--maxmemory-policy',
      'noeviction',
      '--daemonize',
      'no',
      '--logfile',
      '',
      ...this.#opts.extraArgs,
    ];
    const proc = spawn(this.#opts.binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#proc = proc;
    this.#exited = new Promise(resolve => proc.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          proc.stdout?.off('data', onData);
          // Keep draining so a full pipe never blocks redis-server.
          proc.stdout?.resume();
          resolve();
        }
      };
      proc.stdout?.on('data', onData);
      proc.stderr?.resume();
      proc.once('error', reject);
      proc.once('exit', code =>
        reject(new Error(`redis-server exited with ${code} before it was ready:\n${output}`)),
      );
    });
  }

  /** Graceful stop (SIGTERM). */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.#proc?.kill('SIGTERM');
    await this.#exited;
  }

  /** Crash it (SIGKILL): clients see the connection drop with no goodbye. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.#proc?.kill('SIGKILL');
    await this.#exited;
  }

  /** Start again on the same port and directory; with AOF on, the data comes back. */
  async restart(): Promise<void> {
    if (this.running) await this.stop();
    await this.#spawn();
  }

  /** Stop and delete the data directory. */
  async close(): Promise<void> {
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }
}
