import { dashboard, quantile, stat, timeseries } from './panels.ts';

/** Pipeline: the queues between gateway and workers, and how jobs fare. */
export const pipeline = () =>
  dashboard('telegram-receiver-pipeline', 'telegram-receiver / Pipeline')
    .withPanel(
      timeseries(
        'Backlog by queue',
        'short',
        [
          { expr: 'max by (queue) (telegram_receiver_queue_backlog)', legend: '{{queue}} unfinished' },
          {
            expr: 'max by (queue) (telegram_receiver_gateway_backlog)',
            legend: '{{queue}} waiting (MAX_BACKLOG)',
          },
        ],
        "Unfinished items (running ones included), from the metrics service; and the updates waiting to run as the gateway's admission check reads them, which MAX_BACKLOG applies to.",
      ),
    )
    .withPanel(
      timeseries(
        'Job wait p95 by queue (queue + lane wait)',
        's',
        [{ expr: quantile(0.95, 'telegram_receiver_job_wait_seconds', 'queue'), legend: '{{queue}}' }],
        'From enqueue to the start of an attempt: queueing, the wait behind earlier updates of the same chat, and backoff.',
      ),
    )
    .withPanel(
      timeseries('Job duration p95 by queue', 's', [
        { expr: quantile(0.95, 'telegram_receiver_job_duration_seconds', 'queue'), legend: '{{queue}}' },
      ]),
    )
    .withPanel(
      timeseries('Job attempts by queue and result', 'ops', [
        {
          expr: 'sum by (queue, result) (rate(telegram_receiver_jobs_total[$__rate_interval]))',
          legend: '{{queue}} {{result}}',
        },
        {
          expr: 'sum by (queue) (rate(telegram_receiver_job_attempts_total[$__rate_interval]))',
          legend: '{{queue}} started',
        },
      ]),
    )
    .withPanel(
      stat(
        'Dead letters (failed jobs) in the range',
        'short',
        [
          {
            expr: 'sum by (queue) (increase(telegram_receiver_jobs_total{result="failed"}[$__range]))',
            legend: '{{queue}}',
          },
        ],
        'Jobs moved to the failed set for good: inspect and replay them from there.',
      ),
    )
    .withPanel(
      timeseries('Pacing wait p95 (Telegram send limits)', 's', [
        { expr: quantile(0.95, 'telegram_receiver_pacing_wait_seconds', 'instance'), legend: '{{instance}}' },
      ]),
    );
