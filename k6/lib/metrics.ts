// Custom metrics, with the product prefix. The same names are what bench/load-smoke.ts reports.
import { Rate, Trend } from 'k6/metrics';

/** Update sent → the reply's sendMessage recorded by the sandbox, ms. */
export const deliveryDuration = new Trend('telegram_receiver_delivery_duration', true);
/** Share of updates whose reply arrived before the deadline. */
export const delivered = new Rate('telegram_receiver_delivered');
