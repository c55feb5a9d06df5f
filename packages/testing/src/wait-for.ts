/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this long. @defaultValue 10000 */
  timeoutMs?: number;
  /** Pause between polls. @defaultValue 20 */
  intervalMs?: number;
  /** Said in the error when time runs out. */
  message?: string;
}

/**
 * Poll `probe` until it returns something other than `undefined`/`false`, and return that. For state
 * that has no event to wait on (a row in Redis, a call recorded by the sandbox).
 */
export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  opts: WaitForOptions = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`waitFor timed out: ${opts.message ?? 'condition not met'}`, { cause: lastError });
    }
    await new Promise(resolve => setTimeout(resolve, opts.intervalMs ?? 20));
  }
}
