// src/main.ts as a real child process on free ports, for the tests that need the whole process
// (signals, several replicas, the bots file watched).
import { fileURLToPath } from 'node:url';
import { freePort, startServiceProcess, type ServiceProcess } from '@telegram-receiver/testing';

const entry = fileURLToPath(new URL('../src/main.ts', import.meta.url));

export interface GatewayProcess {
  service: ServiceProcess;
  port: number;
  opsPort: number;
  adminPort: number;
  /** The public listener's base URL. */
  url: string;
}

/** Start a gateway process on `server` (a RedisServer, or any URL) with free ports, `LOG_LEVEL` info and `env` on top. */
export async function startGatewayProcess(
  server: { url: string },
  env: Record<string, string>,
): Promise<GatewayProcess> {
  const [port, opsPort, adminPort] = [await freePort(), await freePort(), await freePort()];
  const service = await startServiceProcess({
    entry,
    env: {
      REDIS_URL: server.url,
      HOST: '127.0.0.1',
      PORT: String(port),
      OPS_PORT: String(opsPort),
      ADMIN_HOST: '127.0.0.1',
      ADMIN_PORT: String(adminPort),
      LOG_LEVEL: 'info',
      ...env,
    },
    readyLine: 'gateway listening',
    // Generous: a loaded CI machine starts Node processes slowly.
    readyTimeoutMs: 60_000,
  });
  return { service, port, opsPort, adminPort, url: `http://127.0.0.1:${port}` };
}
