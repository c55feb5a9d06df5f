// `make build`: the production build. Each service is one ES module bundle with a source map
// (services/<name>/dist/main.js), and the tracing bootstrap is its own (packages/core/dist/register.js,
// loaded first by `--import @telegram-receiver/core/register` under `--conditions=production`).
// Only our workspace code is bundled: node_modules stay external, so the OpenTelemetry
// instrumentations still patch koa, ioredis, undici and node:http as Node loads them. Bundling
// drops every export of the core barrel a service never imports, and each `await import()` of a
// feature (tracing, the External Metrics API) becomes a chunk loaded only when the feature is on.
import { rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
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

export type ServiceName = 'gateway' | 'worker' | 'metrics';

/**
 * V8 old-space cap of each service, MiB: measured heap under load with room to spare, well under the
 * chart's memory limit (docs/operations.md, "Memory"). The chart's `tr.command` sets the same.
 */
export const OLD_SPACE_MIB: Readonly<Record<ServiceName, number>> = {
  gateway: 128,
  worker: 192,
  metrics: 64,
};

/**
 * Node's options for a built service, before `services/<name>/dist/main.js`: the production build of
 * the tracing bootstrap, a 2 MiB young generation (the default 16 MiB semi-spaces cost ~13 MB of RSS
 * per process) and the old-space cap (docs/operations.md, "Memory"). Not `--enable-source-maps`: it
 * holds every map in memory (~3 MB per process) and maps each `Error.stack` as it is read; the bundle
 * keeps its names, and `NODE_OPTIONS=--enable-source-maps` turns it on where a trace must name the .ts.
 */
export function productionNodeArgs(service: ServiceName): string[] {
  return [
    '--conditions=production',
    '--max-semi-space-size=2',
    `--max-old-space-size=${OLD_SPACE_MIB[service]}`,
    // The metrics service reads Redis once a second and answers scrapes: it needs no optimising
    // compiler, and without them it idles ~16 MB lower for ~0.4 ms more CPU per scrape. (Not
    // --lite-mode: that also removes WebAssembly, which the tracing bootstrap's ESM hook needs.)
    ...(service === 'metrics' ? ['--no-turbofan', '--no-maglev', '--optimize-for-size'] : []),
    '--import',
    '@telegram-receiver/core/register',
  ];
}

const repo = fileURLToPath(new URL('..', import.meta.url));

/**
 * Packages bundled with our code although they live in node_modules: @koa/router's ES module build
 * imports `http`, whose ESM facade costs 17 MB (see {@link lazyBuiltins}). No instrumentation patches
 * it (the Koa one hooks `koa` only); its own dependencies stay external.
 */
const BUNDLED_PACKAGES: readonly string[] = ['@koa/router'];

/** Every other package but our own workspaces stays an import, resolved by Node from node_modules. */
const externalPackages: Plugin = {
  name: 'external-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, args =>
      args.path.startsWith('@telegram-receiver/') || BUNDLED_PACKAGES.includes(args.path)
        ? undefined
        : { path: args.path, external: true },
    );
  },
};

/**
 * Node's built-in modules are taken with `process.getBuiltinModule()`, as CommonJS, instead of an ESM
 * import: the ESM facade of a built-in reads every export, and for `node:http` that includes the lazy
 * WebSocket/fetch ones, which load Node's internal undici, http2 and web streams (17 MB of RSS for a
 * process that never uses them; measured with `node bench/run.ts memory`). Bundled as CommonJS, an
 * import becomes a property read at the call site, so only what the code uses is ever touched.
 */
const lazyBuiltins: Plugin = {
  name: 'lazy-builtins',
  setup(b) {
    const names = builtinModules.map(name => name.replace(/[/]/g, '\\/')).join('|');
    b.onResolve({ filter: new RegExp(`^(node:)?(${names})$`) }, args => ({
      path: args.path.startsWith('node:') ? args.path : `node:${args.path}`,
      namespace: 'builtin',
    }));
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, args => ({
      contents: `module.exports = process.getBuiltinModule(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
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
        plugins: [lazyBuiltins, externalPackages],
        // With `node --enable-source-maps` stack traces point at the .ts sources; the sources
        // themselves stay out of the map, which Node then keeps in memory.
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
