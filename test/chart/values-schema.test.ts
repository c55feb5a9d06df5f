import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { expectedFiles, generate, ValuesDocError } from '../../scripts/chart-values.ts';
import { HelmError, renderChart } from '../lib/helm.ts';
import { CHART_DIR } from '../lib/tools.ts';

const committedSchema = JSON.parse(readFileSync(`${CHART_DIR}values.schema.json`, 'utf8')) as object;

describe('values.schema.json', () => {
  it('should be what values.yaml generates (no drift), and so should the README table', () => {
    const want = expectedFiles();
    expect(readFileSync(`${CHART_DIR}values.schema.json`, 'utf8')).toBe(want.schema);
    expect(readFileSync(`${CHART_DIR}README.md`, 'utf8')).toBe(want.readme);
  });

  it('should accept the defaults', () => {
    const validate = new Ajv({ strict: false, allErrors: true }).compile(committedSchema);
    const defaults = parse(readFileSync(`${CHART_DIR}values.yaml`, 'utf8')) as object;
    expect(validate(defaults), JSON.stringify(validate.errors)).toBe(true);
  });

  it('should make helm refuse an unknown key, naming it', async () => {
    const err = await renderChart({ gateway: { replicaz: 3 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HelmError);
    expect((err as Error).message).toMatch(/replicaz/);
  });

  it('should make helm refuse a wrong type, naming the key', async () => {
    const err = await renderChart({ worker: { shutdownGraceMs: '30s' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HelmError);
    expect((err as Error).message).toMatch(/shutdownGraceMs/);
  });

  it('should make helm refuse a value outside its enum', async () => {
    const err = await renderChart({ autoscaling: { mode: 'vpa' } }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/autoscaling\.mode|mode/);
  });

  it('should refuse a sentinel that is not host:port', async () => {
    await expect(
      renderChart({
        redis: { enabled: false, externalUrl: 'redis://r:6379', sentinel: { sentinels: ['r; rm'] } },
      }),
    ).rejects.toThrow(/sentinels/);
  });

  it('should refuse a hostile queue prefix and a malformed bot entry', async () => {
    await expect(renderChart({ config: { queuePrefix: 'tr x;rm -rf' } })).rejects.toThrow(/queuePrefix/);
    await expect(renderChart({ secrets: { bots: [{ name: 'a', token: 't' }] } })).rejects.toThrow(
      /webhookSecret/,
    );
  });
});

describe('generate', () => {
  it('should refuse a key without a description', () => {
    expect(() => generate('foo: 1\n')).toThrow(ValuesDocError);
    expect(() => generate('foo: 1\n')).toThrow(/foo: add a '# -- description'/);
  });

  it('should refuse an empty map without a @schema saying what it holds', () => {
    expect(() => generate('# -- labels\nlabels: {}\n')).toThrow(/labels: an empty map or list needs/);
  });

  it('should refuse an @schema line that is not JSON', () => {
    expect(() => generate('# -- x\n# @schema {type: int}\nx: 1\n')).toThrow(
      /x: its @schema line is not JSON/,
    );
  });

  it('should infer types, close objects and keep the description', () => {
    const { schema, rows } = generate('a:\n  # -- the b\n  b: 2\n  # -- the c\n  c: "x"\n');
    expect(schema).toMatchObject({
      additionalProperties: false,
      properties: {
        a: {
          type: 'object',
          additionalProperties: false,
          properties: { b: { type: 'integer' }, c: { type: 'string' } },
        },
      },
    });
    expect(rows).toEqual([
      { path: 'a.b', type: 'integer', default: '2', description: 'the b' },
      { path: 'a.c', type: 'string', default: '"x"', description: 'the c' },
    ]);
  });
});
