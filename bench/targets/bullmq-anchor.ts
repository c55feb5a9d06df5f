// The e2e bench's anchor: BullMQ's own cost on this machine. ANCHOR_ROLE=producer is a plain
// node:http server that answers 200 once `Queue.add` stored the update; ANCHOR_ROLE=consumer is a
// `Worker` (ANCHOR_CONCURRENCY jobs at once, as the bench sets ours) that makes one HTTP call to the sandbox's cursor-runner per
// job. No lanes, no send ledger, no dedup, no metrics: the engine alone. Run by bench/e2e.ts.
import { createServer } from 'node:http';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { Agent, request } from 'undici';

const role = process.env.ANCHOR_ROLE;
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = process.env.QUEUE_PREFIX ?? 'anchor';
const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
const say = (msg: string) => process.stdout.write(`${JSON.stringify({ level: 30, msg })}\n`);

if (role === 'producer') {
  const queue = new Queue('updates', { connection, prefix });
  const port = Number(process.env.PORT ?? 0);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      queue.add('update', { body: Buffer.concat(chunks).toString() }, { removeOnComplete: true }).then(
        () => {
          res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
          res.end('OK');
        },
        () => {
          res.writeHead(503);
          res.end();
        },
      );
    });
  });
  server.keepAliveTimeout = 65_000;
  server.listen(port, '127.0.0.1', () => say(`bullmq anchor producer listening on ${port}`));
  process.once('SIGTERM', () => {
    server.closeAllConnections();
    server.close();
    void queue.close().then(() => process.exit(0));
  });
} else if (role === 'consumer') {
  const target = `${process.env.SANDBOX_URL ?? 'http://127.0.0.1:3001'}/cursor/iterate/async`;
  const dispatcher = new Agent({ connections: 64 }); // as our worker's agent per origin
  const worker = new Worker<{ body: string }>(
    'updates',
    async job => {
      const update = JSON.parse(job.data.body) as { update_id: number; message: { text: string } };
      const res = await request(target, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: `anchor-${update.update_id}`, prompt: update.message.text }),
        dispatcher,
      });
      await res.body.dump();
    },
    { connection, prefix, concurrency: Number(process.env.ANCHOR_CONCURRENCY ?? 32) },
  );
  // The bench waits for the ops port like for our worker; this listener only says "up".
  const ops = createServer((_req, res) => res.end('ok'));
  ops.listen(Number(process.env.OPS_PORT ?? 0), '127.0.0.1', () => say('bullmq anchor consumer listening'));
  process.once('SIGTERM', () => {
    ops.close();
    void worker.close().then(() => process.exit(0));
  });
} else {
  throw new Error('set ANCHOR_ROLE=producer or ANCHOR_ROLE=consumer');
}
