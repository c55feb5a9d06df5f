import { readFile } from 'node:fs/promises';

// USER_HZ is 100 on every Linux the project targets (x86-64, arm64).
const TICKS_PER_SECOND = 100;

/**
 * CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; `null` where
 * /proc is missing or the process is gone. Sampled before and after a phase it shows who used the
 * shared cores: generator, server, Redis.
 */
export async function cpuSeconds(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces: parse after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) / TICKS_PER_SECOND : null;
  } catch {
    return null;
  }
}

/**
 * CPU seconds all processes of the machine have used (every core, user + system + irq + steal),
 * from /proc/stat; `null` without /proc. Minus the processes of the bench it shows how much CPU
 * other work took during a phase on a shared machine.
 */
export async function machineCpuSeconds(): Promise<number | null> {
  try {
    const stat = await readFile('/proc/stat', 'utf8');
    const fields = (stat.split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal …: everything but idle and iowait is busy.
    const busy = fields.slice(0, 8).reduce((sum, v, i) => (i === 3 || i === 4 ? sum : sum + v), 0);
    return Number.isFinite(busy) ? busy / TICKS_PER_SECOND : null;
  } catch {
    return null;
  }
}
