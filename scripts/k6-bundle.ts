// Bundles each k6 entry point (k6/*.ts) with its lib and profiles.json into one self-contained .js under
// charts/telegram-receiver/files/k6/, which the chart ships as a ConfigMap (a ConfigMap has no folders).
// k6 modules stay external: k6 provides them. `--check` fails when the committed bundles have drifted.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { build } from 'esbuild';

const k6Dir = new URL('../k6/', import.meta.url);
const outDir = new URL('../charts/telegram-receiver/files/k6/', import.meta.url);

/** The k6 entry points, by file name. */
export function entries(): string[] {
  return readdirSync(k6Dir)
    .filter(f => f.endsWith('.ts'))
    .sort();
}

/**
 * Each bundle's name and text: one .js per entry, plus the chunks they share (esbuild code splitting,
 * so the lib and profiles.json are shipped once; k6 resolves the relative imports in one folder).
 */
export async function bundles(): Promise<{ name: string; text: string }[]> {
  const result = await build({
    entryPoints: entries().map(entry => new URL(entry, k6Dir).pathname),
    bundle: true,
    splitting: true,
    format: 'esm',
    target: 'es2022',
    platform: 'neutral',
    external: ['k6', 'k6/*'],
    outdir: outDir.pathname,
    chunkNames: 'shared-[hash]',
    write: false,
    legalComments: 'none',
    banner: { js: '// Generated from k6/ by scripts/k6-bundle.ts (make k6-bundle); do not edit.' },
  });
  return result.outputFiles
    .map(file => ({ name: basename(file.path), text: file.text }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

if (import.meta.main) {
  const all = await bundles();
  if (process.argv.includes('--check')) {
    const stale = all.filter(
      b => !existsSync(new URL(b.name, outDir)) || readFileSync(new URL(b.name, outDir), 'utf8') !== b.text,
    );
    const extra = existsSync(outDir) ? readdirSync(outDir).filter(f => !all.some(b => b.name === f)) : [];
    if (stale.length + extra.length > 0) {
      console.error(
        `charts/telegram-receiver/files/k6: ${[...stale.map(b => b.name), ...extra].join(', ')} drifted from k6/; run make k6-bundle`,
      );
      process.exit(1);
    }
  } else {
    mkdirSync(outDir, { recursive: true });
    for (const f of readdirSync(outDir)) if (!all.some(b => b.name === f)) rmSync(new URL(f, outDir));
    for (const b of all) writeFileSync(new URL(b.name, outDir), b.text);
  }
}
