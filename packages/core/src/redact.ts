/**
 * Scrub secrets from text before it leaves the process (log lines, error messages, span attributes,
 * chat replies). Bot tokens are recognised by shape wherever they appear (they sit inside Bot API
 * URLs); other secrets are replaced by value.
 */
const BOT_TOKEN_IN_TEXT = /\d{5,20}:[A-Za-z0-9_-]{20,200}/g;

export const REDACTED = '[REDACTED]';

/**
 * Most secret values one redactor keeps. Each bots-file reload that brings a new token or secret
 * adds one; past the cap the values added first are dropped (those rotated away longest ago).
 */
export const MAX_REDACTED_SECRETS = 10_000;

export class SecretRedactor {
  /** Longest first (a secret inside another must not break the longer one's match). */
  #secrets: string[] = [];
  /** The same values in the order they were added, for the cap. */
  #added: string[] = [];

  /** @param secrets - exact values to hide; values shorter than 6 characters are ignored (too likely to hit ordinary text). */
  constructor(secrets: Iterable<string | undefined>) {
    this.add(secrets);
  }

  /** Hide these values too from now on (a reloaded bots file brings new secrets). */
  add(secrets: Iterable<string | undefined>): void {
    const added = [
      ...new Set([
        ...this.#added,
        ...[...secrets].filter((s): s is string => typeof s === 'string' && s.length >= 6),
      ]),
    ];
    this.#added = added.slice(Math.max(0, added.length - MAX_REDACTED_SECRETS));
    this.#secrets = [...this.#added].sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text.replace(BOT_TOKEN_IN_TEXT, REDACTED);
    for (const secret of this.#secrets) {
      if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    }
    return out;
  }
}
