import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderConfigDoc } from '../config-doc.ts';

describe('docs/configuration.md', () => {
  it('should match the env schemas (run `make docs` after changing them)', async () => {
    const onDisk = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    expect(onDisk).toBe(await renderConfigDoc());
  });
});
