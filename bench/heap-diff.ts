// `node bench/heap-diff.ts <first.heapsnapshot> <second.heapsnapshot> [name]`: what grew between two
// heap snapshots of one process, and what holds the new objects (Markdown on stdout).
import { diffHeapSnapshots, heapDiffMarkdown } from './lib/heap-snapshot-diff.ts';

const [first, second, name = 'process'] = process.argv.slice(2);
if (first === undefined || second === undefined) {
  process.stderr.write('usage: node bench/heap-diff.ts <first.heapsnapshot> <second.heapsnapshot> [name]\n');
  process.exit(2);
}
process.stdout.write(`${heapDiffMarkdown(name, await diffHeapSnapshots(first, second))}\n`);
