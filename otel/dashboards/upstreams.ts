import { dashboard, quantile, timeseries } from './panels.ts';

/** Upstreams: Telegram, cursor-runner and ElevenLabs as the workers see them. */
export const upstreams = () =>
  dashboard('telegram-receiver-upstreams', 'telegram-receiver / Upstreams')
    .withPanel(
      timeseries('Call latency p95 by upstream and method', 's', [
        {
          expr: quantile(0.95, 'telegram_receiver_upstream_call_duration_seconds', 'upstream, method'),
          legend: '{{upstream}} {{method}}',
        },
      ]),
    )
    .withPanel(
      timeseries('Calls by upstream and outcome', 'ops', [
        {
          expr: 'sum by (upstream, outcome) (rate(telegram_receiver_upstream_calls_total[$__rate_interval]))',
          legend: '{{upstream}} {{outcome}}',
        },
      ]),
    )
    .withPanel(
      timeseries('Failed calls by upstream and outcome', 'ops', [
        {
          expr: 'sum by (upstream, outcome) (rate(telegram_receiver_upstream_calls_total{outcome!="ok"}[$__rate_interval]))',
          legend: '{{upstream}} {{outcome}}',
        },
      ]),
    )
    .withPanel(
      timeseries('429s waited out, by upstream', 'ops', [
        {
          expr: 'sum by (upstream) (rate(telegram_receiver_upstream_throttled_total[$__rate_interval]))',
          legend: '{{upstream}}',
        },
      ]),
    )
    .withPanel(
      timeseries(
        'Throttled time, by upstream',
        's',
        [
          {
            expr: 'sum by (upstream) (rate(telegram_receiver_upstream_throttled_seconds_total[$__rate_interval]))',
            legend: '{{upstream}}',
          },
        ],
        'Seconds per second spent waiting out retry_after / Retry-After before retrying.',
      ),
    )
    .withPanel(
      timeseries('Settings cache hit ratio', 'percentunit', [
        {
          expr: 'sum(rate(telegram_receiver_settings_cache_requests_total{result="hit"}[$__rate_interval])) / sum(rate(telegram_receiver_settings_cache_requests_total[$__rate_interval]))',
          legend: 'hit ratio',
        },
      ]),
    );
