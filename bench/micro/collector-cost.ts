// What the metrics service's collector costs Redis per interval, with 10 and with 1,000,000
// unfinished jobs: `node bench/micro/collector-cost.ts`. The claim to check is that the cost does not
// grow with the queue (one MULTI of O(1)/O(log n) commands). The small queue is written by the lane
// writer; the large one with Lua in batches (BullMQ's own key layout: job hashes, wait list, prioritized and
// delayed sets, the lane index and the parked count), bounded in time, and then checked with BullMQ's
// getJobCounts. Reported per read: commands (INFO commandstats), Redis µs, and the client's wall time.
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import {
  LaneWriter,
  QUEUE_NAMES,
  QueueStateReader,
  laneIndexKey,
  parkedCountKey,
} from '@telegram-receiver/core';
import { RedisServer } from '@telegram-receiver/testing';
import { redisCommandStats } from '../lib/redis-command-stats.ts';

const READS = Number(process.env.READS ?? 200);
const BIG = Number(process.env.JOBS ?? 1_000_000);
const DEADLINE = Date.now() + Number(process.env.TIME_LIMIT_S ?? 240) * 1000;
const PREFIX = 'tr';

// KEYS: job-hash prefix, wait, prioritized, delayed, lane index. ARGV: first id, count, now ms.
// 60 % wait, 20 % prioritized, 15 % delayed (half due), the rest parked behind their lane's head;
// each job its own lane (the worst case for the index), accepted one ms apart.
const FILL = `
local first, count, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local parked = 0
for i = first, first + count - 1 do
  local id = tostring(i)
  local slot = i % 20
  if slot < 19 then
    redis.call('HSET', KEYS[1] .. id, 'name', 'telegram-update', 'data', '{}', 'timestamp', now, 'opts', '{}')
  end
  if slot < 12 then redis.call('LPUSH', KEYS[2], id)
  elseif slot < 16 then redis.call('ZADD', KEYS[3], 1 * 0x200000000 + i, id)
  elseif slot < 19 then redis.call('ZADD', KEYS[4], (now + (slot == 16 and -1000 or 3600000)) * 0x1000 + (i % 0x1000), id)
  else parked = parked + 1 end
  redis.call('ZADD', KEYS[5], now - 3600000 + i, 'chat:' .. id)
end
return parked
`;

interface Row {
  jobs: number;
  commandsPerRead: number;
  redisUsecPerRead: number;
  clientUsPerRead: number;
  clientCpuUsPerRead: number;
  perCommand: string;
}

async function measure(redis: Redis, jobs: number): Promise<Row> {
  const reader = new QueueStateReader({ redis, prefix: PREFIX });
  for (let i = 0; i < 20; i++) await reader.read([QUEUE_NAMES.updates, QUEUE_NAMES.callbacks]); // warm-up
  await redis.config('RESETSTAT');
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < READS; i++) await reader.read([QUEUE_NAMES.updates, QUEUE_NAMES.callbacks]);
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const stats = (await redisCommandStats(redis)).filter(
    s => s.command !== 'info' && !s.command.startsWith('config'),
  );
  const calls = stats.reduce((sum, s) => sum + s.calls, 0);
  const usec = stats.reduce((sum, s) => sum + s.usec, 0);
  return {
    jobs,
    commandsPerRead: calls / READS,
    redisUsecPerRead: usec / READS,
    clientUsPerRead: (elapsed * 1000) / READS,
    clientCpuUsPerRead: (cpu.user + cpu.system) / READS,
    perCommand: stats
      .sort((a, b) => a.command.localeCompare(b.command))
      .map(s => `${s.command} ${s.calls / READS}× ${(s.usec / s.calls).toFixed(2)} µs`)
      .join(', '),
  };
}

const server = await RedisServer.start({ appendOnly: false });
const redis = new Redis(server.url, { maxRetriesPerRequest: null });
const rows: Row[] = [];
try {
  // 10 unfinished jobs, written by the gateway's lane writer into 4 chats (4 waiting, 6 parked).
  const queue = new Queue(QUEUE_NAMES.updates, { connection: redis, prefix: PREFIX });
  await new LaneWriter({ queue, redis, prefix: PREFIX }).append(
    'telegram-update',
    Array.from({ length: 10 }, (_, i) => ({
      jobId: `j${i}`,
      data: '{}',
      opts: '{}',
      lane: { bot: 'alpha', lane: `chat:${i % 4}` },
    })),
  );
  rows.push(await measure(redis, 10));

  // 1,000,000 (well, BIG) unfinished jobs on a fresh database.
  await redis.flushall();
  const keys = [
    `${PREFIX}:updates:`,
    `${PREFIX}:updates:wait`,
    `${PREFIX}:updates:prioritized`,
    `${PREFIX}:updates:delayed`,
    laneIndexKey(PREFIX, 'updates'),
  ];
  const now = Date.now();
  const fillStart = performance.now();
  let parked = 0;
  const BATCH = 20_000;
  for (let first = 1; first <= BIG; first += BATCH) {
    if (Date.now() > DEADLINE) {
      throw new Error(`filling took longer than TIME_LIMIT_S; stopped at ${first - 1} jobs`);
    }
    parked += Number(
      await redis.eval(FILL, keys.length, ...keys, first, Math.min(BATCH, BIG - first + 1), now),
    );
  }
  await redis.set(parkedCountKey(PREFIX, 'updates'), parked);
  const fillSeconds = (performance.now() - fillStart) / 1000;
  const counts = await queue.getJobCounts('wait', 'prioritized', 'delayed');
  const bullmqTotal = counts.wait! + counts.prioritized! + counts.delayed! + parked;
  const [state] = await new QueueStateReader({ redis, prefix: PREFIX }).read(['updates']);
  if (state?.backlog !== BIG || bullmqTotal !== BIG || state.pendingLanes !== BIG) {
    throw new Error(`filled state is wrong: ${JSON.stringify({ counts, parked, state })}`);
  }
  rows.push(await measure(redis, BIG));
  await queue.close();

  const [small, big] = rows as [Row, Row];
  const lines = [
    `Collector cost per read (both queues, ${READS} reads each; ${BIG.toLocaleString('en')} jobs written in ${fillSeconds.toFixed(1)} s; BullMQ counts ${JSON.stringify(counts)}, parked ${parked}):`,
    '',
    '| unfinished jobs | commands / read | Redis µs / read | client CPU µs / read | client wall µs / read | commands per read, Redis µs per call |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      r =>
        `| ${r.jobs.toLocaleString('en')} | ${r.commandsPerRead} | ${r.redisUsecPerRead.toFixed(1)} | ${r.clientCpuUsPerRead.toFixed(0)} | ${r.clientUsPerRead.toFixed(0)} | ${r.perCommand} |`,
    ),
    '',
    `Ratios ${BIG.toLocaleString('en')} / 10: commands ${(big.commandsPerRead / small.commandsPerRead).toFixed(2)}×, Redis µs ${(big.redisUsecPerRead / small.redisUsecPerRead).toFixed(2)}×, client CPU ${(big.clientCpuUsPerRead / small.clientCpuUsPerRead).toFixed(2)}×, client wall ${(big.clientUsPerRead / small.clientUsPerRead).toFixed(2)}×.`,
  ];
  console.log(lines.join('\n'));
} finally {
  redis.disconnect();
  await server.close();
}
