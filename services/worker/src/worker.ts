import { setTimeout as sleep } from 'node:timers/promises';
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import {
  OpsListener,
  QUEUE_NAMES,
  SettingsStore,
  annotateActiveSpan,
  bullmqTelemetry,
  closeQueues,
  createQueues,
  laneIndexKey,
  type BotConfig,
  type CallbackJobData,
  type Logger,
  type Readiness,
  type SecretRedactor,
  type UpdateJobData,
} from '@telegram-receiver/core';
import pkg from '../package.json' with { type: 'json' };
import { AttemptTrace } from './attempt-trace.ts';
import type { WorkerConnections } from './connections.ts';
import { STILL_WORKING_NOTICE_DEFAULT_SECONDS, type WorkerConfig } from './env.ts';
import { LaneAdvancer } from './lanes/lane-advancer.ts';
import { SendLedger } from './ledger/send-ledger.ts';
import { WorkerMetrics } from './metrics.ts';
import { createNoticeProcessor, type NoticeJobResult } from './notices/notice-processor.ts';
import { NOTICE_QUEUE, NoticeScheduler, type NoticeJobData } from './notices/notice-scheduler.ts';
import { createCallbackProcessor, type CallbackJobResult } from './processors/callback-processor.ts';
import { isLastAttempt } from './processors/job-policy.ts';
import type { CursorRunnerPort, ElevenLabsPort, TelegramClients } from './processors/ports.ts';
import { ProviderSlots, withSlots } from './processors/provider-slots.ts';
import { SendPacer, type SendPacerOptions } from './processors/send-pacer.ts';
import { createUpdateProcessor, type UpdateJobResult } from './processors/update-processor.ts';

/** The settings the worker service reads (a subset of {@link WorkerConfig}). */
export type WorkerServiceConfig = Pick<
  WorkerConfig,
  | 'QUEUE_PREFIX'
  | 'OPS_PORT'
  | 'UPDATES_CONCURRENCY'
  | 'CALLBACKS_CONCURRENCY'
  | 'SHUTDOWN_GRACE_MS'
  | 'TELEGRAM_WEBHOOK_BASE_URL'
  | 'CURSOR_RUNNER_CALLBACK_URL'
  | 'ELEVENLABS_CONCURRENCY'
> &
  Partial<Pick<WorkerConfig, 'TELEGRAM_BOT_MESSAGES_PER_SECOND' | 'STILL_WORKING_NOTICE_SECONDS'>>;

/** Options of {@link createWorkerService}. */
export interface WorkerServiceOptions {
  config: WorkerServiceConfig;
  /** Its Redis connections (`createWorkerConnections`); the caller closes them after {@link WorkerService.stop}. */
  connections: WorkerConnections;
  bots: { byName(name: string): BotConfig | undefined };
  /** Bot API clients, one per bot token. */
  telegram: TelegramClients;
  cursorRunner: CursorRunnerPort;
  /** Unset when ELEVENLABS_API_KEY is not configured (voice in/out answered with a clear reply). */
  elevenLabs?: ElevenLabsPort | undefined;
  logger: Logger;
  /** Scrubs secrets from texts that reach a chat or a job's failure reason. */
  redactor: SecretRedactor;
  /** Address of the ops listener. @defaultValue '0.0.0.0' */
  opsHost?: string;
  /** Ops port; overrides `config.OPS_PORT` (0 picks a free port, for tests). */
  opsPort?: number;
  /** Collect Node's default process metrics. @defaultValue true */
  defaultMetrics?: boolean;
  /**
   * Telegram pacing across replicas (per chat, per group, per bot), or `false` to send unpaced.
   * @defaultValue Telegram's documented limits (see {@link SendPacerOptions})
   */
  pacing?: Omit<SendPacerOptions, 'redis' | 'prefix' | 'onWait'> | false;
}

/** A running (or runnable) worker process. */
export interface WorkerService {
  /** Connect, subscribe to settings, open the ops listener and start fetching jobs. */
  start(): Promise<{ opsPort: number }>;
  /**
   * Stop fetching, let active jobs finish within SHUTDOWN_GRACE_MS (then abandon them: their locks
   * expire and another replica takes them over, the send ledger preventing duplicates), then close
   * the queues and the ops listener (not the connections: their owner does). Idempotent.
   */
  stop(): Promise<void>;
  readonly metrics: WorkerMetrics;
}

/** The callback URL cursor-runner posts results to. */
export function callbackUrlOf(
  config: Pick<WorkerServiceConfig, 'CURSOR_RUNNER_CALLBACK_URL' | 'TELEGRAM_WEBHOOK_BASE_URL'>,
): string {
  return config.CURSOR_RUNNER_CALLBACK_URL ?? `${config.TELEGRAM_WEBHOOK_BASE_URL}/cursor-runner/callback`;
}

/**
 * How fast a dead worker's jobs go to another replica (issue 6: within 15 s). A job's lock lasts
 * `lockDuration` and BullMQ renews it every half of that while the job runs; every
 * `stalledInterval` one replica moves the jobs whose lock is gone back to `wait` (a job must be
 * seen without its lock by one check after being listed active by the previous one). A SIGKILLed
 * worker's job therefore runs again within lockDuration + stalledInterval (≈ 9 s) plus the fetch.
 * The send ledger keeps the re-run from repeating a step. `maxStalledCount` 5: a job killed with
 * its worker several times in a row (chaos, rolling restarts) is still re-run, not failed; a job
 * that kills its worker every time is moved to `failed` after 5 crashes.
 */
export const RECOVERY_OPTIONS = { lockDuration: 5000, stalledInterval: 4000, maxStalledCount: 5 } as const;

/** Still-working checks run at once per process (each is one short send at most). */
const NOTICE_CONCURRENCY = 8;

/** A bot's send pace from TELEGRAM_BOT_MESSAGES_PER_SECOND (a second's worth may go at once). */
function botPace(config: WorkerServiceConfig): Pick<SendPacerOptions, 'bot'> {
  const rate = config.TELEGRAM_BOT_MESSAGES_PER_SECOND;
  return rate === undefined ? {} : { bot: { intervalMs: Math.ceil(1000 / rate), burst: rate } };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The worker service: BullMQ workers for the `updates` and `callbacks` queues, and the ops
 * listener. Building it has no side effects; {@link WorkerService.start} connects.
 */
export function createWorkerService(opts: WorkerServiceOptions): WorkerService {
  const { config, logger } = opts;
  const prefix = config.QUEUE_PREFIX;
  const metrics = new WorkerMetrics({ defaultMetrics: opts.defaultMetrics ?? true });
  const { connections } = opts;
  let workers: Worker[] = [];
  let queues: ReturnType<typeof createQueues> | undefined;
  let settings: SettingsStore | undefined;
  let ops: OpsListener | undefined;
  let laneAdvancer: LaneAdvancer | undefined;
  let notices: NoticeScheduler | undefined;
  let attemptTrace: AttemptTrace | undefined;
  let stopping: Promise<void> | undefined;
  // Attempts running in this process, so stop() can wait for them (BullMQ's close() cannot be
  // turned into a forced close once it is waiting).
  const inFlight = new Set<Promise<unknown>>();

  /** Count each attempt's result and time it; the processors decide the result. */
  function instrument<D, R>(
    queue: string,
    fn: (job: Job<D, R, string>, token?: string) => Promise<R>,
  ): (job: Job<D, R, string>, token?: string) => Promise<R> {
    return async (job, token) => {
      // On BullMQ's consumer span of this attempt: the attempt and how long the job waited for it.
      annotateActiveSpan({
        'telegram_receiver.attempt': job.attemptsMade + 1,
        'telegram_receiver.wait_ms': Math.max(0, Date.now() - job.timestamp),
      });
      await attemptTrace?.begin(job);
      metrics.jobAttempts.inc({ queue });
      metrics.observe(metrics.jobWait, { queue }, Math.max(0, Date.now() - job.timestamp) / 1000);
      const started = performance.now();
      const attempt = fn(job, token);
      inFlight.add(attempt);
      try {
        const value = await attempt;
        metrics.jobs.inc({ queue, result: 'completed' });
        return value;
      } catch (err) {
        const result =
          err instanceof DelayedError
            ? 'delayed'
            : err instanceof UnrecoverableError || isLastAttempt(job)
              ? 'failed'
              : 'retried';
        metrics.jobs.inc({ queue, result });
        if (result !== 'failed') await attemptTrace?.retrying(job);
        throw err;
      } finally {
        inFlight.delete(attempt);
        metrics.observe(metrics.jobDuration, { queue }, (performance.now() - started) / 1000);
      }
    };
  }

  async function check(): Promise<Readiness> {
    if (stopping) return { ready: false, reason: 'shutting_down' };
    try {
      // A keyed read, not PING: on a Redis Cluster it asks the master that holds the prefix's slot
      // (every key of this deployment), where a PING would go to any node.
      await withTimeout(connections.probe.exists(laneIndexKey(prefix, 'updates')), 1000, 'redis probe');
    } catch {
      return { ready: false, reason: 'redis_unavailable' };
    }
    if (workers.length === 0) return { ready: false, reason: 'starting' };
    return workers.every(w => w.isRunning())
      ? { ready: true }
      : { ready: false, reason: 'workers_not_running' };
  }

  async function start(): Promise<{ opsPort: number }> {
    const { commands, state: jobState, subscriber } = connections;
    // The ops listener comes first: /health must answer while Redis is still unreachable (a liveness
    // probe would otherwise restart a pod that is only waiting), and /ready says why it is not ready.
    ops = new OpsListener({
      service: 'telegram-receiver-worker',
      version: pkg.version,
      registry: metrics.registry,
      readiness: { check },
      logger,
    });
    const opsPort = await ops.listen(opts.opsPort ?? config.OPS_PORT, opts.opsHost ?? '0.0.0.0');

    queues = createQueues(commands, prefix);
    // Connection errors surface on the queues too; ioredis reconnects, so they are only worth a debug line.
    for (const queue of [queues.updates, queues.callbacks, queues.notices]) {
      queue.on('error', (err: Error) => logger.debug({ err, queue: queue.name }, 'queue connection error'));
    }
    settings = new SettingsStore({ redis: jobState, subscriber, prefix, logger });
    await settings.start();
    const ledger = new SendLedger({ redis: jobState, prefix });
    const lanes = new LaneAdvancer({ redis: jobState, queues, prefix, logger });
    laneAdvancer = lanes;
    attemptTrace = new AttemptTrace({ redis: jobState });
    // Provider caps hold cluster-wide: the slots and the pace live in Redis, not in this process.
    const elevenLabs =
      opts.elevenLabs === undefined
        ? undefined
        : withSlots(
            opts.elevenLabs,
            new ProviderSlots({
              redis: jobState,
              key: `${prefix}:slots:elevenlabs`,
              limit: config.ELEVENLABS_CONCURRENCY,
            }),
          );
    const pacer =
      opts.pacing === false
        ? undefined
        : new SendPacer({
            redis: jobState,
            prefix,
            onWait: ms => metrics.pacingWait.observe(ms / 1000),
            ...botPace(config),
            ...(opts.pacing ?? {}),
          });
    notices = new NoticeScheduler({
      connection: commands,
      prefix,
      delaySeconds: config.STILL_WORKING_NOTICE_SECONDS ?? STILL_WORKING_NOTICE_DEFAULT_SECONDS,
    });
    notices.queue.on('error', (err: Error) =>
      logger.debug({ err, queue: NOTICE_QUEUE }, 'queue connection error'),
    );
    const common = {
      bots: opts.bots,
      telegram: opts.telegram,
      elevenLabs,
      pacer,
      settings,
      ledger,
      redis: jobState,
      prefix,
      redactor: opts.redactor,
      metrics,
      logger,
      notices,
    };
    const processUpdate = createUpdateProcessor({
      ...common,
      cursorRunner: opts.cursorRunner,
      callbackUrl: callbackUrlOf(config),
    });
    const processCallback = createCallbackProcessor(common);

    const updatesWorker = new Worker<UpdateJobData, UpdateJobResult, string>(
      QUEUE_NAMES.updates,
      instrument(QUEUE_NAMES.updates, processUpdate),
      {
        connection: connections.updates,
        telemetry: bullmqTelemetry(),
        prefix,
        concurrency: config.UPDATES_CONCURRENCY,
        autorun: false,
        ...RECOVERY_OPTIONS,
      },
    );
    const callbacksWorker = new Worker<CallbackJobData, CallbackJobResult, string>(
      QUEUE_NAMES.callbacks,
      instrument(QUEUE_NAMES.callbacks, processCallback),
      {
        connection: connections.callbacks,
        telemetry: bullmqTelemetry(),
        prefix,
        concurrency: config.CALLBACKS_CONCURRENCY,
        autorun: false,
        ...RECOVERY_OPTIONS,
      },
    );
    // Checks are in no chat's lane; each sends at most one short message.
    const noticesWorker = new Worker<NoticeJobData, NoticeJobResult, string>(
      NOTICE_QUEUE,
      instrument(NOTICE_QUEUE, createNoticeProcessor({ ...common, enabled: notices.enabled })),
      {
        connection: connections.notices,
        telemetry: bullmqTelemetry(),
        prefix,
        concurrency: NOTICE_CONCURRENCY,
        autorun: false,
        ...RECOVERY_OPTIONS,
      },
    );
    lanes.attach(QUEUE_NAMES.updates, updatesWorker);
    lanes.attach(QUEUE_NAMES.callbacks, callbacksWorker);
    lanes.start();
    workers = [updatesWorker as Worker, callbacksWorker as Worker, noticesWorker as Worker];
    for (const worker of workers) {
      worker.on('error', err => logger.error({ err, queue: worker.name }, 'worker error'));
      worker.on('failed', (job, err) => {
        if (job && err.name === 'UnrecoverableError') {
          logger.warn({ queue: worker.name, jobId: job.id }, 'job moved to the failed set (dead letter)');
        }
      });
    }

    for (const worker of workers) {
      worker
        .run()
        .catch((err: unknown) => logger.error({ err, queue: worker.name }, 'worker stopped with an error'));
    }
    await Promise.all(workers.map(w => w.waitUntilReady()));
    return { opsPort };
  }

  async function stopOnce(): Promise<void> {
    const graceMs = config.SHUTDOWN_GRACE_MS;
    const deadline = Date.now() + graceMs;
    /** `promise`, or 'grace-over' once the grace period is spent (the timer never holds the process). */
    const withinGrace = (promise: Promise<unknown>) =>
      Promise.race([
        promise.then(() => 'done' as const),
        sleep(Math.max(0, deadline - Date.now()), 'grace-over' as const, { ref: false }),
      ]);
    // Stop fetching at once; the jobs already running get the grace period to finish.
    await Promise.all(workers.map(w => w.pause(true)));
    let how = await withinGrace(Promise.allSettled([...inFlight]));
    // A job BullMQ fetched just before the pause can reach its processor after the check above, and
    // close(false) would wait for it without limit: the close is held to the same deadline. (A later
    // close(true) would only return that same pending close, so past the deadline we go on without
    // it: closing the connections afterwards (their owner does) ends whatever it still waits for.)
    const closingGently = how === 'done';
    if (closingGently) {
      how = await withinGrace(Promise.all(workers.map(w => w.close(false).catch(noteCloseFailure(w)))));
    }
    if (how === 'grace-over') {
      // Their locks expire and another replica takes them over as stalled; the send ledger keeps
      // whatever they already sent from being sent again.
      logger.warn(
        { graceMs, active: inFlight.size },
        'active jobs did not finish within the grace period; abandoning them',
      );
      if (!closingGently) await Promise.all(workers.map(w => w.close(true).catch(noteCloseFailure(w))));
    }
    await laneAdvancer?.stop();
    await notices?.close();
    await settings?.close();
    if (queues) await closeQueues(queues);
    await ops?.close();
  }

  function noteCloseFailure(worker: Worker): (err: unknown) => void {
    return err => logger.warn({ err, queue: worker.name }, 'worker close failed');
  }

  return {
    metrics,
    start,
    stop() {
      stopping ??= stopOnce();
      return stopping;
    },
  };
}
