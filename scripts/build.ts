// `make build`: the production build. Each service is one ES module bundle with a source map
// (services/<name>/dist/main.js), and the tracing bootstrap is its own (packages/core/dist/register.js,
// loaded first by `--import @telegram-receiver/core/register` under `--conditions=production`).
// Only our workspace code is bundled: node_modules stay external, so the OpenTelemetry
// instrumentations still patch koa, ioredis, undici and node:http as Node loads them. Bundling
// drops every export of the core barrel a service never imports, and each `await import()` of a
// feature (tracing, the External Metrics API) becomes a chunk loaded only when the feature is on.
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

/** One bundle: its entry point and the folder it is written to (relative to the repo root). */
export interface BuildTarget {
  name: string;
  entry: string;
  outdir: string;
  /** Name of the entry's output file, without `.js`. */
  entryName: string;
}

export const BUILD_TARGETS: readonly BuildTarget[] = [
  {
    name: 'gateway',
    entry: 'services/gateway/src/main.ts',
    outdir: 'services/gateway/dist',
    entryName: 'main',
  },
  { name: 'worker', entry: 'services/worker/src/main.ts', outdir: 'services/worker/dist', entryName: 'main' },
  {
    name: 'metrics',
    entry: 'services/metrics/src/main.ts',
    outdir: 'services/metrics/dist',
    entryName: 'main',
  },
  {
    name: 'sandbox',
    entry: 'packages/sandbox/src/main.ts',
    outdir: 'packages/sandbox/dist',
    entryName: 'main',
  },
  {
    name: 'register',
    entry: 'packages/core/src/tracing/register.ts',
    outdir: 'packages/core/dist',
    entryName: 'register',
  },
];

const repo = fileURLToPath(new URL('..', import.meta.url));

/** Every package but our own workspaces stays an import, resolved by Node from node_modules. */
const externalPackages: Plugin = {
  name: 'external-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, args =>
      args.path.startsWith('@telegram-receiver/') ? undefined : { path: args.path, external: true },
    );
  },
};

/** Build every target (or the named ones) into its dist/ folder, replacing what was there. */
export async function buildAll(names?: readonly string[]): Promise<void> {
  const targets = BUILD_TARGETS.filter(t => names === undefined || names.includes(t.name));
  await Promise.all(
    targets.map(async target => {
      const outdir = `${repo}${target.outdir}`;
      rmSync(outdir, { recursive: true, force: true });
      await build({
        absWorkingDir: repo,
        entryPoints: { [target.entryName]: target.entry },
        outdir,
        bundle: true,
        splitting: true,
        format: 'esm',
        platform: 'node',
        target: 'node24',
        plugins: [externalPackages],
        // Stack traces point at the .ts sources (`node --enable-source-maps`); the sources themselves
        // stay out of the map, which Node keeps in memory.
        sourcemap: 'linked',
        sourcesContent: false,
        // Error and class names stay as written (bundling would rename clashing ones).
        keepNames: true,
        chunkNames: 'chunks/[name]-[hash]',
        legalComments: 'none',
        logLevel: 'warning',
      });
    }),
  );
}

if (import.meta.main) {
  const names = process.argv.slice(2);
  await buildAll(names.length > 0 ? names : undefined);
  process.stdout.write(`built: ${BUILD_TARGETS.map(t => `${t.outdir}/${t.entryName}.js`).join(', ')}\n`);
}
