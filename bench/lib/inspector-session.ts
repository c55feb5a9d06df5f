/**
 * A minimal Chrome DevTools Protocol client over Node's global WebSocket, for a child started with
 * `--inspect=127.0.0.1:0`: the soak forces a full collection in each service and reads what stays
 * alive (the heap's floor), without any hook in the service's code.
 */
export class InspectorSession {
  readonly #ws: WebSocket;
  #nextId = 1;
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.addEventListener('message', event => {
      const msg = JSON.parse(String(event.data)) as {
        id?: number;
        result?: unknown;
        error?: { message: string };
      };
      if (msg.id === undefined) return;
      const waiting = this.#waiting.get(msg.id);
      this.#waiting.delete(msg.id);
      if (msg.error) waiting?.reject(new Error(msg.error.message));
      else waiting?.resolve(msg.result);
    });
    ws.addEventListener('close', () => {
      for (const w of this.#waiting.values()) w.reject(new Error('inspector connection closed'));
      this.#waiting.clear();
    });
  }

  /** The `ws://127.0.0.1:<port>/<uuid>` Node printed ("Debugger listening on …") in a child's output. */
  static urlIn(output: string): string | undefined {
    return /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/.exec(output)?.[1];
  }

  /** Connect, trying a few times: a child still starting up may not accept the first attempt. */
  static async connect(url: string, attempts = 5): Promise<InspectorSession> {
    for (let n = 1; ; n++) {
      const ws = new WebSocket(url);
      const why = await new Promise<string | undefined>(resolve => {
        ws.addEventListener('open', () => resolve(undefined), { once: true });
        ws.addEventListener('error', e => resolve(String((e as { message?: unknown }).message ?? e.type)), {
          once: true,
        });
      });
      if (why === undefined) return new InspectorSession(ws);
      if (n >= attempts) throw new Error(`cannot connect to the inspector at ${url}: ${why}`);
      await new Promise(resolve => setTimeout(resolve, 200 * n));
    }
  }

  async send(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.#nextId++;
    return await new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** A full (mark-compact) collection, then the heap still in use, in MiB. */
  async heapAfterFullGcMb(): Promise<number> {
    await this.send('HeapProfiler.collectGarbage');
    const result = (await this.send('Runtime.evaluate', {
      expression: 'process.memoryUsage().heapUsed',
      returnByValue: true,
    })) as { result: { value: number } };
    return result.result.value / 1024 / 1024;
  }

  close(): void {
    this.#ws.close();
  }
}
