import { isJobQueue, type QueueStatePoller } from '@telegram-receiver/core';

/**
 * The body of `GET /queues`: the last sample as JSON, for KEDA's `metrics-api` scaler
 * (`valueLocation: queues.updates.pendingLanes`). With no sample young enough it is a 503, so the
 * scaler reports an error (and KEDA applies its fallback) instead of scaling on an old number.
 * The job queues only: a side queue (`notices`) has its dead-letter gauges, and no scaling signal.
 */
export function queuesResponse(collector: Pick<QueueStatePoller, 'sample'>): {
  status: number;
  body: unknown;
} {
  const sample = collector.sample();
  if (sample === undefined) {
    return {
      status: 503,
      body: {
        error: 'no_fresh_sample',
        message: 'the queues could not be read recently; no value is served',
      },
    };
  }
  return {
    status: 200,
    body: {
      sampledAt: new Date(sample.sampledAt).toISOString(),
      ageSeconds: sample.ageSeconds,
      fresh: sample.fresh,
      queues: Object.fromEntries(
        sample.states
          .filter(s => isJobQueue(s.queue))
          .map(s => [
            s.queue,
            {
              backlog: s.backlog,
              pendingLanes: s.pendingLanes,
              oldestAgeSeconds: s.oldestAgeSeconds,
              active: s.active,
              waiting: s.waiting,
              paused: s.paused,
              deadLetters: s.deadLetters,
              deadLetterOldestAgeSeconds: s.deadLetterOldestAgeSeconds,
            },
          ]),
      ),
    },
  };
}
