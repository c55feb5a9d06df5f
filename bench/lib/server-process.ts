import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Options of {@link startServer}. */
export interface StartServerOptions {
  /** `main.ts` to run with this Node (type stripping). */
  entry: string;
  /** Environment of the child, merged over PATH and HOME. */
  env: Record<string, string>;
  /** Port the child listens on, on 127.0.0.1. */
  port: number;
  /** @defaultValue 30000 */
  readyTimeoutMs?: number;
  /** Node options before the entry (e.g. the tracing bootstrap's `--import`). */
  nodeArgs?: string[];
}

/** A server under test running as its own process. */
export interface ServerProcess {
  pid: number;
  /** The last stdout/stderr lines, for error messages. */
  tail(): string;
  /** SIGTERM, then SIGKILL after 10 s. */
  stop(): Promise<void>;
}

async function accepts(port: number): Promise<boolean> {
  return await new Promise(resolve => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Start a server child and resolve once it logs a line containing `listening` or its port accepts
 * connections (a service started with LOG_LEVEL=warn may not print its info lines).
 */
export async function startServer(opts: StartServerOptions): Promise<ServerProcess> {
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), opts.entry], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let listening = false;
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (line === '') continue;
      // (not the inspector's "Debugger listening on ws://…", printed before the service starts)
      if (line.includes('listening') && !line.startsWith('Debugger listening')) listening = true;
      lines.push(line);
      if (lines.length > 40) lines.shift();
    }
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  const exited = new Promise<void>(resolve => proc.once('exit', () => resolve()));
  let exitCode: number | string | null = null;
  proc.once('exit', (code, signal) => (exitCode = code ?? signal));
  const tail = () => lines.join('\n');

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  while (!listening && !(await accepts(opts.port))) {
    if (exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      await exited;
      const why = exitCode !== null ? `exited with ${exitCode}` : 'timed out';
      throw new Error(`${opts.entry} did not start (${why}):\n${tail()}`);
    }
    await sleep(50);
  }

  return {
    pid: proc.pid!,
    tail,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
