import { dashboard, quantile, stat, timeseries } from './panels.ts';

/** Ingress: what reaches the gateway, how fast it answers, and what it turns away. */
export const ingress = () =>
  dashboard('telegram-receiver-ingress', 'telegram-receiver / Ingress')
    .withPanel(
      timeseries('Requests per second by route', 'reqps', [
        {
          expr: 'sum by (route, status) (rate(telegram_receiver_http_requests_total[$__rate_interval]))',
          legend: '{{route}} {{status}}',
        },
      ]),
    )
    .withPanel(
      timeseries(
        'Answer latency p95 / p99 by route',
        's',
        [
          {
            expr: quantile(0.95, 'telegram_receiver_http_request_duration_seconds', 'route'),
            legend: 'p95 {{route}}',
          },
          {
            expr: quantile(0.99, 'telegram_receiver_http_request_duration_seconds', 'route'),
            legend: 'p99 {{route}}',
          },
        ],
        'The webhook answers 200 only once the update is durable in Redis. Exemplars link to traces.',
      ),
    )
    .withPanel(
      timeseries('Rejected webhooks by reason', 'reqps', [
        {
          expr: 'sum by (reason) (rate(telegram_receiver_webhook_rejections_total[$__rate_interval]))',
          legend: '{{reason}}',
        },
      ]),
    )
    .withPanel(
      timeseries('Enqueue latency p99 by queue', 's', [
        { expr: quantile(0.99, 'telegram_receiver_enqueue_duration_seconds', 'queue'), legend: '{{queue}}' },
      ]),
    )
    .withPanel(
      timeseries('Non-2xx answers by route and status', 'reqps', [
        {
          expr: 'sum by (route, status) (rate(telegram_receiver_http_requests_total{status!~"2.."}[$__rate_interval]))',
          legend: '{{route}} {{status}}',
        },
      ]),
    )
    .withPanel(
      stat('Updates stored per second by bot', 'reqps', [
        {
          expr: 'sum by (bot) (rate(telegram_receiver_updates_enqueued_total{result="new"}[$__rate_interval]))',
          legend: '{{bot}}',
        },
      ]),
    );
