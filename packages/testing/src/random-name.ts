import { randomUUID } from 'node:crypto';

/** A name no other test uses (queue prefixes, bot names, chat ids). */
export function randomName(prefix = 'test'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}
