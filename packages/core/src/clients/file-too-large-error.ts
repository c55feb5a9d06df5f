/**
 * A file to download is bigger than allowed (Telegram lets bots download at most 20 MB). The
 * download was stopped as soon as this was known; retrying will not help. Tell the user the file
 * is too large instead.
 */
export class FileTooLargeError extends Error {
  /** The limit, in bytes. */
  readonly maxBytes: number;
  /** The size the server declared (`Content-Length`), when it declared one. */
  readonly declaredBytes: number | undefined;

  constructor(opts: { method: string; maxBytes: number; declaredBytes?: number | undefined }) {
    super(
      `${opts.method}: file is larger than the ${opts.maxBytes}-byte limit` +
        (opts.declaredBytes !== undefined ? ` (${opts.declaredBytes} bytes declared)` : ''),
    );
    this.name = 'FileTooLargeError';
    this.maxBytes = opts.maxBytes;
    this.declaredBytes = opts.declaredBytes;
  }
}
