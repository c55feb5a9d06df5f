import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { memoryMarkdown, vmRssMb, type MemoryReport, type MemoryRow } from '../memory.ts';

describe('vmRssMb(pid)', () => {
  it('should read the resident set size as ps reports it', async () => {
    const ours = await vmRssMb(process.pid);
    const ps = Number(execFileSync('ps', ['-o', 'rss=', '-p', String(process.pid)], { encoding: 'utf8' }));
    // Both read the kernel's counter; the process may allocate between the two reads.
    expect(ours).not.toBeNull();
    expect(Math.abs(ours! - (ps * 1024) / 1e6)).toBeLessThan(5);
  });

  it('should answer null for a process that does not exist', async () => {
    expect(await vmRssMb(2 ** 22 + 1)).toBeNull();
  });
});

describe('memoryMarkdown(report)', () => {
  const row = (
    flavour: MemoryRow['flavour'],
    process: MemoryRow['process'],
    idleMb: number,
    loadMb: number,
  ) => ({
    flavour,
    process,
    idleMb,
    loadMb,
    idleHeapMb: 20,
    loadHeapMb: 30,
  });

  it('should put ours next to main and bare Node, and mark each target met or missed', () => {
    const report: MemoryReport = {
      quick: true,
      rate: 2000,
      commands: { ours: 'node dist/main.js' },
      load: {},
      rows: [
        { ...row('node', 'bare node', 44, 0), loadMb: null },
        row('ours', 'gateway', 79, 111),
        row('main', 'gateway', 170, 300),
        row('ours', 'worker', 98, 133),
        row('ours', 'metrics', 66, 69),
      ],
    };
    const md = memoryMarkdown(report);
    expect(md).toContain('Bare Node 24 idles at 44 MB');
    expect(md).toContain('| gateway | 79 ✓ | ≤ 80 | 170 | 111 **✗** | ≤ 110 | 300 |');
    expect(md).toContain('| worker | 98 ✓ | ≤ 100 | — | 133 ✓ | ≤ 160 | — |');
    expect(md).toContain('| metrics | 66 ✓ | ≤ 70 |');
  });
});
