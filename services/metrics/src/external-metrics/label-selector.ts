/** One requirement of a Kubernetes label selector. */
export interface LabelRequirement {
  key: string;
  op: 'exists' | 'not-exists' | 'in' | 'notin';
  /** The values of `in` / `notin` (`=` and `==` are `in` one value, `!=` is `notin` one value). */
  values: readonly string[];
}

/** A label selector that does not follow Kubernetes' syntax; the message says what is wrong. */
export class LabelSelectorError extends Error {
  override readonly name = 'LabelSelectorError';
}

const MAX_SELECTOR_LENGTH = 1024;
// Kubernetes' label rules: a name of at most 63 characters, optionally under a DNS-subdomain prefix.
const NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;
const PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SET = /^(\S+?)\s+(in|notin)\s*\((.*)\)$/s;
const EQUALITY = /^([^\s=!]+)\s*(==|!=|=)\s*(.*)$/s;

/**
 * Parse a label selector as the Kubernetes API does (`queue=updates`, `queue in (updates,callbacks)`,
 * `queue!=x`, `queue`, `!queue`, joined by commas). The empty selector selects everything. The
 * numeric `<`/`>` operators are refused: no label here holds a number.
 * @throws {@link LabelSelectorError} naming the part that could not be parsed.
 */
export function parseLabelSelector(input: string): LabelRequirement[] {
  if (input.length > MAX_SELECTOR_LENGTH) {
    throw new LabelSelectorError(`labelSelector is longer than ${MAX_SELECTOR_LENGTH} characters`);
  }
  if (input.trim() === '') return [];
  return splitRequirements(input).map(parseRequirement);
}

/** True when `labels` satisfy every requirement. */
export function matchesLabels(
  requirements: readonly LabelRequirement[],
  labels: Record<string, string>,
): boolean {
  return requirements.every(r => {
    const value = labels[r.key];
    switch (r.op) {
      case 'exists':
        return value !== undefined;
      case 'not-exists':
        return value === undefined;
      case 'in':
        return value !== undefined && r.values.includes(value);
      case 'notin':
        return value === undefined || !r.values.includes(value);
    }
  });
}

// Commas separate requirements except inside the parentheses of `in (…)`.
function splitRequirements(input: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (depth < 0 || depth > 1) {
      throw new LabelSelectorError(`unbalanced parentheses in labelSelector "${input.slice(0, 200)}"`);
    }
    if (c === ',' && depth === 0) {
      parts.push(input.slice(start, i));
      start = i + 1;
    }
  }
  if (depth !== 0) {
    throw new LabelSelectorError(`unbalanced parentheses in labelSelector "${input.slice(0, 200)}"`);
  }
  parts.push(input.slice(start));
  return parts.map(p => p.trim());
}

function parseRequirement(part: string): LabelRequirement {
  if (part === '') throw new LabelSelectorError('empty requirement in labelSelector (two commas in a row?)');
  if (part.startsWith('!')) return { key: checkKey(part.slice(1).trim()), op: 'not-exists', values: [] };
  const set = SET.exec(part);
  if (set) {
    const [, key = '', op = '', list = ''] = set;
    if (list.trim() === '') throw new LabelSelectorError(`"${part}": ${op} needs at least one value`);
    const values = list.split(',').map(v => checkValue(v.trim()));
    return { key: checkKey(key), op: op === 'in' ? 'in' : 'notin', values };
  }
  const eq = EQUALITY.exec(part);
  if (eq) {
    const [, key = '', op = '', value = ''] = eq;
    return { key: checkKey(key), op: op === '!=' ? 'notin' : 'in', values: [checkValue(value.trim())] };
  }
  if (/[<>]/.test(part)) {
    throw new LabelSelectorError(`"${part}": the < and > operators are not supported here`);
  }
  if (/^\S+$/.test(part)) return { key: checkKey(part), op: 'exists', values: [] };
  throw new LabelSelectorError(
    `cannot parse "${part}": expected key, !key, key=value, key!=value, key in (v1,v2) or key notin (v1,v2)`,
  );
}

function checkKey(key: string): string {
  const slash = key.indexOf('/');
  const prefix = slash === -1 ? undefined : key.slice(0, slash);
  const name = slash === -1 ? key : key.slice(slash + 1);
  const prefixOk = prefix === undefined || (prefix.length <= 253 && PREFIX.test(prefix));
  if (!prefixOk || name.length > 63 || !NAME.test(name)) {
    throw new LabelSelectorError(
      `invalid label key "${key}": a name of at most 63 characters (letters, digits, - _ .), starting and ending with a letter or digit, optionally prefixed by a DNS subdomain and /`,
    );
  }
  return key;
}

function checkValue(value: string): string {
  if (value !== '' && (value.length > 63 || !NAME.test(value))) {
    throw new LabelSelectorError(
      `invalid label value "${value}": at most 63 characters (letters, digits, - _ .), starting and ending with a letter or digit`,
    );
  }
  return value;
}
