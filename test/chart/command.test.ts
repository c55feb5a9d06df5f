// How the chart starts each service (`tr.command`): the production build, with the same Node options
// the memory benchmark measured (scripts/build.ts), and a heap cap that fits the container's limit.
import { describe, expect, it } from 'vitest';
import { BUILD_TARGETS, OLD_SPACE_MIB, productionNodeArgs, type ServiceName } from '../../scripts/build.ts';
import { one, renderChart } from '../lib/helm.ts';

const MIB: Record<string, number> = { Mi: 1, Gi: 1024 };
const mib = (quantity: string) => {
  const m = /^(\d+)(Mi|Gi)$/.exec(quantity);
  if (!m) throw new Error(`unexpected memory quantity ${quantity}`);
  return Number(m[1]) * MIB[m[2]!]!;
};

describe('tr.command', () => {
  it('should start each service from its bundle with the Node options of scripts/build.ts', async () => {
    const objects = await renderChart({});
    for (const service of ['gateway', 'worker', 'metrics'] as const satisfies ServiceName[]) {
      const container = one(objects, 'Deployment', `-${service}`).spec!.template!.spec.containers[0]!;
      const target = BUILD_TARGETS.find(t => t.name === service)!;
      expect(container.command).toEqual([
        'node',
        ...productionNodeArgs(service),
        `${target.outdir}/${target.entryName}.js`,
      ]);
      // The old-space cap leaves room for what is not V8 heap (~70 MB measured: the binary, code, buffers).
      const limit = mib(container.resources!.limits!.memory!);
      expect(limit - OLD_SPACE_MIB[service]).toBeGreaterThanOrEqual(96);
    }
  });
});
