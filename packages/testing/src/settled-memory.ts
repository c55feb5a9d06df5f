import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';

// RSS moves with the allocator and with when V8 last collected, so a bound on it alone is flaky.
// What a leak check wants is what is still reachable after a full collection.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** This process's memory after two full collections. */
export interface SettledMemory {
  /** Reachable JS heap, bytes. */
  heap: number;
  /** Buffers and ArrayBuffers still held (request bodies, socket chunks), bytes. */
  buffers: number;
  /** Resident set size, bytes: only for a coarse bound, it stays high after a burst. */
  rss: number;
}

/** Collects garbage twice, then reads `process.memoryUsage()`. */
export function settledMemory(): SettledMemory {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, buffers: m.arrayBuffers, rss: m.rss };
}
