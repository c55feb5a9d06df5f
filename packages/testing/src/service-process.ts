import { spawn, type ChildProcess } from 'node:child_process';

/** Options of {@link startServiceProcess}. */
export interface ServiceProcessOptions {
  /** Path of the `main.ts` to run with Node (type stripping, no build step). */
  entry: string;
  /** Environment of the child (merged over a minimal PATH/HOME). */
  env: Record<string, string | undefined>;
  /** Resolve once a stdout line contains this (e.g. a JSON log message). */
  readyLine: string;
  /** @defaultValue 20000 */
  readyTimeoutMs?: number;
  /** Node options before the entry, e.g. `['--import', '@telegram-receiver/core/register']`. */
  nodeArgs?: string[];
}

/** A service running as a real child process, with its stdout lines captured for assertions. */
export interface ServiceProcess {
  proc: ChildProcess;
  /** Every stdout line so far. */
  lines: string[];
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
  /** Send a signal and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

export async function startServiceProcess(opts: ServiceProcessOptions): Promise<ServiceProcess> {
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), opts.entry], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const stderr: string[] = [];
  const exited = new Promise<number | string>(resolve =>
    proc.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  let buffered = '';
  const readyTimeoutMs = opts.readyTimeoutMs ?? 20_000;
  const output = () => `${lines.join('\n')}\n${stderr.join('')}`;
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${opts.entry} not ready after ${readyTimeoutMs} ms:\n${output()}`)),
      readyTimeoutMs,
    );
    proc.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        lines.push(line);
        if (line.includes(opts.readyLine)) {
          clearTimeout(timer);
          resolve();
        }
      }
    });
    proc.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    void exited.then(code => {
      clearTimeout(timer);
      reject(new Error(`${opts.entry} exited with ${code} before it was ready:\n${output()}`));
    });
  });
  try {
    await ready;
  } catch (err) {
    // Never leave a half-started child behind: the next test would find its port taken.
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
    throw err;
  }
  return {
    proc,
    lines,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return await exited;
    },
  };
}
