import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * A shared secret compared in constant time: both sides are hashed to fixed-length digests first,
 * so neither the comparison time nor a length check tells an attacker how close a guess was. During
 * a rotation several values are valid; each is compared, with no early exit, so the time does not
 * tell which one matched either.
 */
export class SecretCheck {
  readonly #digests: Buffer[];

  constructor(secrets: string | readonly string[]) {
    this.#digests = (typeof secrets === 'string' ? [secrets] : secrets).map(digest);
  }

  /** True when `presented` is a string equal to one of the secrets. */
  matches(presented: unknown): boolean {
    if (typeof presented !== 'string' || presented.length === 0 || presented.length > 4096) return false;
    const candidate = digest(presented);
    let matched = false;
    for (const d of this.#digests) matched = timingSafeEqual(candidate, d) || matched;
    return matched;
  }
}
