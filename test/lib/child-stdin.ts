// Feeding a child process's stdin (kubectl, helm): write it all and close it.
import type { ChildProcess } from 'node:child_process';

/**
 * Write `input` to the child's stdin and close it. A child that exits without reading its stdin
 * (kubectl does, for most verbs) makes the write fail with EPIPE; that is no error of the call, whose
 * outcome is the child's exit status, so it is ignored here instead of crashing the test run.
 */
export function endStdin(child: ChildProcess, input: string): void {
  child.stdin?.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  child.stdin?.end(input);
}
