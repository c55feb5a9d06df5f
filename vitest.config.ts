import { defineConfig } from 'vitest/config';

// One root config with a project per workspace. Tests that start redis-server or child processes are
// real integration tests, so they get generous timeouts; they never touch the machine's 6379.
export default defineConfig({
  test: {
    globals: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Most files spend their time waiting on redis-server and child processes, not on the CPU.
    // Vitest's default (cores − 1) runs them one at a time on a 2-core machine.
    maxWorkers: 3,
    projects: [
      { extends: true, test: { name: 'core', include: ['packages/core/**/*.test.ts'] } },
      { extends: true, test: { name: 'testing', include: ['packages/testing/**/*.test.ts'] } },
      { extends: true, test: { name: 'sandbox', include: ['packages/sandbox/**/*.test.ts'] } },
      { extends: true, test: { name: 'gateway', include: ['services/gateway/**/*.test.ts'] } },
      { extends: true, test: { name: 'worker', include: ['services/worker/**/*.test.ts'] } },
      { extends: true, test: { name: 'metrics', include: ['services/metrics/**/*.test.ts'] } },
      { extends: true, test: { name: 'bench', include: ['bench/**/*.test.ts'] } },
      { extends: true, test: { name: 'scripts', include: ['scripts/**/*.test.ts'] } },
      // The chart's template tests (helm template; `make chart`) and the real control plane (`make k8s-e2e`).
      { extends: true, test: { name: 'chart', include: ['test/chart/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'k8s',
          include: ['test/k8s/**/*.test.ts'],
          // One API server, one cluster-wide APIService name: the files run one after the other.
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
