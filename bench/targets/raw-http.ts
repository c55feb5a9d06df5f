// Anchor (a): the per-process limit. A bare node:http server that reads the whole body and answers
// `200 OK`, with nothing else on the path. Run as a child process by bench/ingest.ts.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 0);

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    Buffer.concat(chunks);
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': '2' });
    res.end('OK');
  });
});
server.keepAliveTimeout = 65_000;

server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  process.stdout.write(`${JSON.stringify({ level: 30, msg: `raw node:http listening on ${bound}` })}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
