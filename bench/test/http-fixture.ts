import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

/** A local HTTP server on a free port whose behaviour each test supplies. */
export interface TestServer {
  origin: string;
  close(): Promise<void>;
}

/** Read the body and hand the parsed update to `handle`, which answers (or deliberately does not). */
export async function startTestServer(
  handle: (update: { update_id: number }, req: IncomingMessage, res: ServerResponse) => void,
): Promise<TestServer> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () =>
      handle(JSON.parse(Buffer.concat(chunks).toString()) as { update_id: number }, req, res),
    );
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    origin: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>(resolve => server.close(() => resolve()));
    },
  };
}

export function ok(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('OK');
}
