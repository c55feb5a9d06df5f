import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startServiceProcess } from '../src/index.ts';

async function script(source: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tr-svc-'));
  const file = join(dir, 'main.cjs');
  await writeFile(file, source);
  return file;
}

describe('startServiceProcess(opts)', () => {
  it('should resolve on the ready line and stop with a signal', async () => {
    const entry = await script(
      `process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000); console.log('{"msg":"listening"}');`,
    );
    const service = await startServiceProcess({ entry, env: {}, readyLine: 'listening' });
    expect(service.lines).toContain('{"msg":"listening"}');
    await expect(service.stop()).resolves.toBe(0);
  });

  it('should kill the child when it is not ready in time', async () => {
    const pidFile = join(await mkdtemp(join(tmpdir(), 'tr-pid-')), 'pid');
    const entry = await script(
      `require('node:fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => {}, 1000);`,
    );
    await expect(
      startServiceProcess({ entry, env: {}, readyLine: 'never', readyTimeoutMs: 500 }),
    ).rejects.toThrow(/not ready/);
    const pid = Number(await readFile(pidFile, 'utf8'));
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  });
});
