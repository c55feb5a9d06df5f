import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadOptions, LoadResult } from './load.ts';

const CHILD = fileURLToPath(new URL('./load-child.ts', import.meta.url));

type Reply = { result?: LoadResult; error?: string };

/**
 * The load generator in its own process. Phases run one at a time. The generator, the server under
 * test and Redis still share the machine's cores; each result says how much CPU the generator used.
 */
export class LoadGeneratorProcess {
  readonly #child: ChildProcess;
  #exit: string | null = null;
  #waiting: { resolve: (r: LoadResult) => void; reject: (e: Error) => void } | undefined;

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.on('message', (msg: Reply) => {
      const waiting = this.#waiting;
      this.#waiting = undefined;
      if (msg.result) waiting?.resolve(msg.result);
      else waiting?.reject(new Error(`load generator failed: ${msg.error ?? 'no result'}`));
    });
    child.once('exit', (code, signal) => {
      this.#exit = String(code ?? signal);
      this.#waiting?.reject(new Error(`load generator exited with ${this.#exit}`));
      this.#waiting = undefined;
    });
  }

  static start(): LoadGeneratorProcess {
    return new LoadGeneratorProcess(fork(CHILD, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Run one phase; phases never overlap. */
  async run(opts: LoadOptions): Promise<LoadResult> {
    if (this.#exit !== null) throw new Error(`load generator exited with ${this.#exit}`);
    if (this.#waiting) throw new Error('a load phase is already running');
    return await new Promise<LoadResult>((resolve, reject) => {
      this.#waiting = { resolve, reject };
      this.#child.send(opts);
    });
  }

  async close(): Promise<void> {
    if (this.#exit !== null) return;
    const exited = new Promise(resolve => this.#child.once('exit', resolve));
    this.#child.disconnect();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
