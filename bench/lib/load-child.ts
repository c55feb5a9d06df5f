// Entry of the load-generator child process (see run-load.ts). One child serves every phase of a
// target, so the warm-up phase warms the generator's JIT too, and the generator never shares an
// event loop with the server it measures.
import { generateLoad, type LoadOptions } from './load.ts';

let queue = Promise.resolve();

process.on('message', (opts: LoadOptions) => {
  queue = queue.then(() =>
    generateLoad(opts).then(
      result => void process.send?.({ result }),
      (err: unknown) => void process.send?.({ error: err instanceof Error ? err.message : String(err) }),
    ),
  );
});
// The parent closes the IPC channel when it is done; then there is nothing left to do.
process.on('disconnect', () => process.exit(0));
