import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** `server.listen(port, host)` as a promise of the bound port (0 = any free port); rejects on EADDRINUSE & co. */
export async function listen(server: Server, port: number, host?: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}
