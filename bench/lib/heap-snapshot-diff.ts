// What grew between two heap snapshots of one process (the soak takes one at the end of the
// warm-up and one near the end): live bytes by constructor, and for the objects that are new in
// the second snapshot, what holds them (their retainers: parent constructor and edge name).
// V8 keeps node ids stable within a process, so "new" means an id the first snapshot did not have.
import { readFile } from 'node:fs/promises';

interface RawSnapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** One group of objects: V8's node type and name (the constructor for objects). */
export interface HeapGroupGrowth {
  group: string;
  countBefore: number;
  countAfter: number;
  bytesBefore: number;
  bytesAfter: number;
}

/** Who holds objects that are new in the second snapshot. */
export interface RetainerCount {
  group: string;
  retainer: string;
  objects: number;
  bytes: number;
}

export interface HeapDiff {
  totalBytesBefore: number;
  totalBytesAfter: number;
  /** Groups by growth in bytes, largest first. */
  growth: HeapGroupGrowth[];
  /** For the groups that grew most: the retainers of their new objects. */
  retainers: RetainerCount[];
}

interface Parsed {
  raw: RawSnapshot;
  nodeSize: number;
  edgeSize: number;
  typeOf: (n: number) => string;
  nameOf: (n: number) => string;
  idOf: (n: number) => number;
  sizeOf: (n: number) => number;
  count: number;
}

function parse(raw: RawSnapshot): Parsed {
  const f = raw.snapshot.meta.node_fields;
  const nodeSize = f.length;
  const [iType, iName, iId, iSize] = ['type', 'name', 'id', 'self_size'].map(k => f.indexOf(k)) as [
    number,
    number,
    number,
    number,
  ];
  const types = raw.snapshot.meta.node_types[0];
  return {
    raw,
    nodeSize,
    edgeSize: raw.snapshot.meta.edge_fields.length,
    typeOf: n => types[raw.nodes[n * nodeSize + iType]!] ?? '?',
    nameOf: n => raw.strings[raw.nodes[n * nodeSize + iName]!] ?? '?',
    idOf: n => raw.nodes[n * nodeSize + iId]!,
    sizeOf: n => raw.nodes[n * nodeSize + iSize]!,
    count: raw.nodes.length / nodeSize,
  };
}

/** `type:name`, names cut short (strings and code carry their text as the name). */
function groupOf(p: Parsed, n: number): string {
  const type = p.typeOf(n);
  const name =
    type === 'string' || type === 'concatenated string' || type === 'sliced string' ? '' : p.nameOf(n);
  return `${type}:${name.length > 60 ? `${name.slice(0, 57)}...` : name}`;
}

function byGroup(p: Parsed): Map<string, { count: number; bytes: number }> {
  const out = new Map<string, { count: number; bytes: number }>();
  for (let n = 0; n < p.count; n++) {
    const g = groupOf(p, n);
    const cur = out.get(g) ?? { count: 0, bytes: 0 };
    cur.count++;
    cur.bytes += p.sizeOf(n);
    out.set(g, cur);
  }
  return out;
}

/** Compare two snapshots of the same process (`before` taken first). */
export async function diffHeapSnapshots(
  beforeFile: string,
  afterFile: string,
  topGroups = 5,
): Promise<HeapDiff> {
  const before = parse(JSON.parse(await readFile(beforeFile, 'utf8')) as RawSnapshot);
  const a = byGroup(before);
  const seen = new Set<number>();
  for (let n = 0; n < before.count; n++) seen.add(before.idOf(n));
  const totalBytesBefore = [...a.values()].reduce((s, g) => s + g.bytes, 0);
  before.raw.nodes = [];
  before.raw.edges = [];

  const after = parse(JSON.parse(await readFile(afterFile, 'utf8')) as RawSnapshot);
  const b = byGroup(after);
  const growth = [...new Set([...a.keys(), ...b.keys()])]
    .map(group => ({
      group,
      countBefore: a.get(group)?.count ?? 0,
      countAfter: b.get(group)?.count ?? 0,
      bytesBefore: a.get(group)?.bytes ?? 0,
      bytesAfter: b.get(group)?.bytes ?? 0,
    }))
    .sort((x, y) => y.bytesAfter - y.bytesBefore - (x.bytesAfter - x.bytesBefore));
  const watched = new Set(growth.slice(0, topGroups).map(g => g.group));

  // Retainers of the new objects of the watched groups: walk every edge once.
  const { edges } = after.raw;
  const ef = after.raw.snapshot.meta.edge_fields;
  const [eType, eName, eTo] = ['type', 'name_or_index', 'to_node'].map(k => ef.indexOf(k)) as [
    number,
    number,
    number,
  ];
  const edgeTypes = after.raw.snapshot.meta.edge_types[0];
  const edgeCountField = after.raw.snapshot.meta.node_fields.indexOf('edge_count');
  const retainers = new Map<string, RetainerCount>();
  let e = 0;
  for (let parent = 0; parent < after.count; parent++) {
    const edgeCount = after.raw.nodes[parent * after.nodeSize + edgeCountField]!;
    for (let k = 0; k < edgeCount; k++, e += after.edgeSize) {
      const type = edgeTypes[edges[e + eType]!];
      if (type === 'weak' || type === 'shortcut') continue;
      const child = edges[e + eTo]! / after.nodeSize;
      const group = groupOf(after, child);
      if (!watched.has(group) || seen.has(after.idOf(child))) continue;
      const edgeName =
        type === 'element' || type === 'hidden'
          ? `[${edges[e + eName]}]`
          : (after.raw.strings[edges[e + eName]!] ?? '?');
      const retainer = `${groupOf(after, parent)} .${type === 'element' ? '[]' : edgeName}`;
      const key = `${group} ← ${retainer}`;
      const cur = retainers.get(key) ?? { group, retainer, objects: 0, bytes: 0 };
      cur.objects++;
      cur.bytes += after.sizeOf(child);
      retainers.set(key, cur);
    }
  }
  const totalBytesAfter = [...b.values()].reduce((s, g) => s + g.bytes, 0);
  return {
    totalBytesBefore,
    totalBytesAfter,
    growth,
    retainers: [...retainers.values()].sort((x, y) => y.bytes - x.bytes).slice(0, 15),
  };
}

/** The diff as Markdown: totals, the groups that grew most, and what holds their new objects. */
export function heapDiffMarkdown(name: string, d: HeapDiff, rows = 10): string {
  const mb = (n: number) => (n / 1024 / 1024).toFixed(2);
  const kb = (n: number) => `${n >= 0 ? '+' : ''}${(n / 1024).toFixed(1)}`;
  const lines = [
    `${name}: live heap ${mb(d.totalBytesBefore)} MB → ${mb(d.totalBytesAfter)} MB (${kb(d.totalBytesAfter - d.totalBytesBefore)} KB)`,
    '',
    '| group (type:constructor) | count before → after | KB Δ |',
    '| --- | ---: | ---: |',
    ...d.growth
      .slice(0, rows)
      .map(
        g => `| \`${g.group}\` | ${g.countBefore} → ${g.countAfter} | ${kb(g.bytesAfter - g.bytesBefore)} |`,
      ),
    '',
    'New objects of the top groups, by retainer:',
    '',
    ...d.retainers.map(r => `- \`${r.group}\` ← \`${r.retainer}\`: ${r.objects} objects, ${kb(r.bytes)} KB`),
  ];
  return lines.join('\n');
}
