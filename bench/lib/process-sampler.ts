import { readFile } from 'node:fs/promises';
import { parsePrometheusText } from '@telegram-receiver/testing';
import { request } from 'undici';

/** A process the soak watches: its pid, and its ops listener when it is one of our services. */
export interface WatchedProcess {
  name: string;
  pid: number;
  /** `http://127.0.0.1:<ops port>`: /metrics gives the heap and event-loop delay. */
  opsUrl?: string;
}

/** One reading of one process; `null` where the value could not be read this time. */
export interface ProcessReading {
  rssMb: number | null;
  heapUsedMb: number | null;
  /** p99 of the event-loop delay since the previous scrape (prom-client resets its histogram per scrape). */
  eventLoopP99Ms: number | null;
}

const MB = 1024 * 1024;

/** Resident set size from /proc/<pid>/status (VmRSS), in MiB; `null` when the process is gone. */
export async function rssMb(pid: number): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
    return kb === undefined ? null : Number(kb) / 1024;
  } catch {
    return null;
  }
}

/** prom-client's default metrics of a service: heap used and event-loop delay p99. */
async function scrape(opsUrl: string): Promise<Pick<ProcessReading, 'heapUsedMb' | 'eventLoopP99Ms'>> {
  try {
    const res = await request(`${opsUrl}/metrics`, { headersTimeout: 5000, bodyTimeout: 5000 });
    if (res.statusCode !== 200) {
      await res.body.dump();
      return { heapUsedMb: null, eventLoopP99Ms: null };
    }
    const samples = parsePrometheusText(await res.body.text());
    const value = (name: string) => samples.find(s => s.name === name)?.value;
    const heap = value('nodejs_heap_size_used_bytes');
    const lag = value('nodejs_eventloop_lag_p99_seconds');
    return {
      heapUsedMb: heap === undefined ? null : heap / MB,
      eventLoopP99Ms: lag === undefined ? null : lag * 1000,
    };
  } catch {
    return { heapUsedMb: null, eventLoopP99Ms: null };
  }
}

/** Read every process at once: RSS from /proc, heap and event-loop delay from its /metrics. */
export async function readProcesses(processes: WatchedProcess[]): Promise<ProcessReading[]> {
  return await Promise.all(
    processes.map(async p => {
      const [rss, scraped] = await Promise.all([
        rssMb(p.pid),
        p.opsUrl === undefined ? { heapUsedMb: null, eventLoopP99Ms: null } : scrape(p.opsUrl),
      ]);
      return { rssMb: rss, ...scraped };
    }),
  );
}
