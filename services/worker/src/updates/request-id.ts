import { hash } from 'node:crypto';

/**
 * The cursor-runner request id of an update, in the seed's format `telegram-<unix seconds>-<8 hex>`
 * (seed-contract §1.4). The seed's hex was random; ours is the first 8 hex of
 * sha256(`<bot>:<update_id>`) and the seconds come from when the gateway accepted the update, so a
 * retried job reuses the same id and cursor-runner's state and our callback record stay consistent.
 */
export function requestIdFor(bot: string, updateId: number, receivedAtMs: number): string {
  const seconds = Math.floor(receivedAtMs / 1000);
  const hex = hash('sha256', `${bot}:${updateId}`, 'hex').slice(0, 8);
  return `telegram-${seconds}-${hex}`;
}
