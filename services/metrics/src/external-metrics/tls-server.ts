import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { Logger } from '@telegram-receiver/core';

/** Options of {@link TlsServer}. */
export interface TlsServerOptions {
  /** PEM certificate chain served (a mounted Secret's `tls.crt`). */
  certFile: string;
  /** PEM private key (`tls.key`). */
  keyFile: string;
  /** How often the files are read again for a rotated certificate. @defaultValue 10000 */
  reloadIntervalMs?: number;
  logger: Logger;
}

/** The serving certificate or key cannot be used; the message names the file. */
export class ServingCertificateError extends Error {
  override readonly name = 'ServingCertificateError';
}

/**
 * An HTTPS server that asks every client for a certificate and verifies it against one CA only
 * (set with {@link trustClientCA}; the handler decides what an unverified client gets), and that
 * picks up a rotated serving certificate from its files without a restart. The files are polled
 * rather than watched: a Secret volume is updated by swapping a symlink, which file watchers miss.
 * A half-written pair (key and certificate that do not match) is ignored until the next poll.
 */
export class TlsServer {
  readonly #opts: TlsServerOptions;
  readonly #handler: RequestListener;
  #server: Server | undefined;
  #pair: { cert: string; key: string } | undefined;
  #ca: string | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(handler: RequestListener, opts: TlsServerOptions) {
    this.#handler = handler;
    this.#opts = opts;
  }

  /**
   * Read the certificate and listen. Resolves with the bound port (0 = any free port).
   * @throws {@link ServingCertificateError} when the files cannot be read or do not match.
   */
  async listen(port: number, host?: string): Promise<number> {
    const pair = await this.#readPair();
    // Requests here are small GETs from the aggregator, which keeps its connections open: bound the
    // time a client may take to send one, and keep idle connections past a typical 60 s idle timeout.
    const server = createServer(
      {
        ...this.#secureOptions(pair),
        requestCert: true,
        rejectUnauthorized: false,
        headersTimeout: 10_000,
        requestTimeout: 30_000,
        keepAliveTimeout: 65_000,
        maxHeaderSize: 16_384,
      },
      this.#handler,
    );
    this.#server = server;
    this.#pair = pair;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#timer = setInterval(() => void this.reload(), this.#opts.reloadIntervalMs ?? 10_000);
    this.#timer.unref();
    return (server.address() as AddressInfo).port;
  }

  /** Trust client certificates signed by `caPem` (the front-proxy CA) from the next connection on. */
  trustClientCA(caPem: string): void {
    this.#ca = caPem;
    if (this.#server !== undefined && this.#pair !== undefined) {
      this.#server.setSecureContext(this.#secureOptions(this.#pair));
    }
  }

  /** Read the files again and serve them from the next connection on if they changed. Never throws. */
  async reload(): Promise<void> {
    let pair;
    try {
      pair = await this.#readPair();
    } catch (err) {
      this.#opts.logger.warn(
        { err },
        'serving certificate: cannot use the files yet; keeping the current one',
      );
      return;
    }
    if (pair.cert === this.#pair?.cert && pair.key === this.#pair.key) return;
    this.#pair = pair;
    this.#server?.setSecureContext(this.#secureOptions(pair));
    this.#opts.logger.info({ certFile: this.#opts.certFile }, 'serving certificate rotated');
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    const server = this.#server;
    if (server === undefined || !server.listening) return;
    const closed = new Promise<void>(resolve => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  // Until the front-proxy CA is known, the serving certificate stands in as the only trusted CA, so
  // Node's default public roots are never trusted; the handler answers 503 meanwhile anyway.
  #secureOptions(pair: { cert: string; key: string }) {
    return { cert: pair.cert, key: pair.key, ca: this.#ca ?? pair.cert };
  }

  async #readPair(): Promise<{ cert: string; key: string }> {
    const read = async (file: string) => {
      try {
        return await readFile(file, 'utf8');
      } catch (err) {
        throw new ServingCertificateError(`cannot read ${file}`, { cause: err });
      }
    };
    const [cert, key] = await Promise.all([read(this.#opts.certFile), read(this.#opts.keyFile)]);
    try {
      createSecureContext({ cert, key });
    } catch (err) {
      throw new ServingCertificateError(
        `${this.#opts.certFile} and ${this.#opts.keyFile} are not a matching PEM certificate and key`,
        { cause: err },
      );
    }
    return { cert, key };
  }
}
