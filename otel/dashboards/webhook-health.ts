import { dashboard, stat, timeseries } from './panels.ts';

/** Webhook health per bot: Telegram's own view (getWebhookInfo) and re-deliveries. */
export const webhookHealth = () =>
  dashboard('telegram-receiver-webhook-health', 'telegram-receiver / Webhook health')
    .withPanel(
      timeseries(
        'Updates Telegram holds for us, by bot',
        'short',
        [{ expr: 'max by (bot) (telegram_receiver_webhook_pending_updates)', legend: '{{bot}}' }],
        'getWebhookInfo pending_update_count, polled by one gateway replica. Growing = we are not taking updates.',
      ),
    )
    .withPanel(
      stat(
        "Telegram's last failed delivery, by bot",
        'dateTimeFromNow',
        [
          {
            expr: 'max by (bot) (telegram_receiver_webhook_last_error_timestamp_seconds) * 1000',
            legend: '{{bot}}',
          },
        ],
        'getWebhookInfo last_error_date (0 = never).',
      ),
    )
    .withPanel(
      timeseries(
        'Re-deliveries (dedup hits) by bot',
        'reqps',
        [
          {
            expr: 'sum by (bot) (rate(telegram_receiver_updates_enqueued_total{result="duplicate"}[$__rate_interval]))',
            legend: '{{bot}}',
          },
        ],
        'Updates Telegram sent again although already stored: usually an answer that came too late.',
      ),
    );
