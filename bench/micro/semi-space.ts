// The cost of the production young-generation flag (`--max-semi-space-size=2`, scripts/build.ts) on the
// built gateway: `node bench/micro/semi-space.ts` (after `make build`). The gateway alone on a private Redis
// (AOF everysec), saturated by 32 connections for 5 s after a 1.5 s warm-up, with and without the flag,
// alternating, three rounds. Reports req/s (noisy on a shared machine) and the gateway's CPU per request.
import { freePort, RedisServer } from '@telegram-receiver/testing';
import { BENCH_BOT_TOKEN, BENCH_SECRET_HEADER, BENCH_WEBHOOK_SECRET } from '../lib/fake-credentials.ts';
import { LoadGeneratorProcess } from '../lib/run-load.ts';
import { cpuSeconds } from '../lib/proc-cpu.ts';
import { startServer } from '../lib/server-process.ts';
const redis = await RedisServer.start({ appendOnly: true, appendFsync: 'everysec' });
const gen = LoadGeneratorProcess.start();
let first = 1;
const variants: Record<string, string[]> = {
  semi2: [
    '--enable-source-maps',
    '--conditions=production',
    '--max-semi-space-size=2',
    '--max-old-space-size=128',
  ],
  default: ['--enable-source-maps', '--conditions=production', '--max-old-space-size=128'],
};
for (let round = 0; round < 3; round++) {
  for (const [name, args] of Object.entries(variants)) {
    const port = await freePort();
    const gw = await startServer({
      entry: 'services/gateway/dist/main.js',
      nodeArgs: args,
      port,
      env: {
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        REDIS_URL: redis.url,
        QUEUE_PREFIX: `{ab${round}${name}}`,
        TELEGRAM_BOT_TOKEN: BENCH_BOT_TOKEN,
        TELEGRAM_WEBHOOK_SECRET: BENCH_WEBHOOK_SECRET,
        TELEGRAM_API_URL: 'http://127.0.0.1:9',
        HOST: '127.0.0.1',
        PORT: String(port),
        OPS_PORT: String(await freePort()),
        ADMIN_PORT: String(await freePort()),
        MAX_BACKLOG: '1000000000',
      },
    });
    await gen.run({
      mode: 'saturate',
      concurrency: 32,
      durationMs: 1500,
      origin: `http://127.0.0.1:${port}`,
      headers: BENCH_SECRET_HEADER,
      firstUpdateId: first,
    });
    first += 1_000_000;
    const c0 = await cpuSeconds(gw.pid);
    const r = await gen.run({
      mode: 'saturate',
      concurrency: 32,
      durationMs: 5000,
      origin: `http://127.0.0.1:${port}`,
      headers: BENCH_SECRET_HEADER,
      firstUpdateId: first,
    });
    const c1 = await cpuSeconds(gw.pid);
    first += 1_000_000;
    console.log(
      round,
      name,
      Math.round(r.achievedRate),
      'req/s',
      'cpu µs/req',
      Math.round(((c1! - c0!) * 1e6) / r.ok),
    );
    await gw.stop();
  }
}
await gen.close();
await redis.close();
