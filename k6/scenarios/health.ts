import { getHealth } from '../lib/requests.ts';

/** The liveness endpoint under load (a probe must never time out while the webhook is busy). */
export function health(): void {
  getHealth();
}
