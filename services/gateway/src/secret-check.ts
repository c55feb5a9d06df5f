import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * A shared secret compared in constant time: both sides are hashed to fixed-length digests first,
 * so neither the comparison time nor a length check tells an attacker how close a guess was.
 */
export class SecretCheck {
  readonly #digest: Buffer;

  constructor(secret: string) {
    this.#digest = digest(secret);
  }

  /** True when `presented` is a string equal to the secret. */
  matches(presented: unknown): boolean {
    if (typeof presented !== 'string' || presented.length === 0 || presented.length > 4096) return false;
    return timingSafeEqual(digest(presented), this.#digest);
  }
}
