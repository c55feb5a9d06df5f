import { Agent } from 'undici';

/** Options of {@link createHttpAgent}. */
export interface HttpAgentOptions {
  /**
   * Time allowed to open a TCP/TLS connection. Past it the call fails in the `connect` phase, which
   * is always safe to retry.
   * @defaultValue 5000
   */
  connectTimeoutMs?: number;
  /**
   * Time allowed between sending a request and receiving the response headers. cursor-runner and
   * ElevenLabs STT can be slow, so keep it above the clients' own `timeoutMs`; each client enforces
   * its own deadline anyway.
   * @defaultValue 120000
   */
  headersTimeoutMs?: number;
  /**
   * Time allowed between two chunks of a response body.
   * @defaultValue 60000
   */
  bodyTimeoutMs?: number;
  /**
   * How long an idle keep-alive connection stays in the pool (a server's `Keep-Alive` hint may lower it).
   * @defaultValue 30000
   */
  keepAliveTimeoutMs?: number;
  /**
   * Most connections per origin (Telegram, ElevenLabs, cursor-runner each get their own pool).
   * Requests above the cap wait for a free connection.
   * @defaultValue 64
   */
  connectionsPerOrigin?: number;
}

/** The defaults of {@link HttpAgentOptions}, exported so documentation and tests can quote them. */
export const HTTP_AGENT_DEFAULTS = {
  connectTimeoutMs: 5_000,
  headersTimeoutMs: 120_000,
  bodyTimeoutMs: 60_000,
  keepAliveTimeoutMs: 30_000,
  connectionsPerOrigin: 64,
} as const satisfies Required<HttpAgentOptions>;

/**
 * The one undici `Agent` a process shares between all outbound clients: a keep-alive pool per
 * origin, bounded connections, and timeouts on every phase. Close it on shutdown
 * (`await agent.close()`) after the clients are done.
 */
export function createHttpAgent(opts: HttpAgentOptions = {}): Agent {
  const o = { ...HTTP_AGENT_DEFAULTS, ...opts };
  return new Agent({
    connect: { timeout: o.connectTimeoutMs },
    headersTimeout: o.headersTimeoutMs,
    bodyTimeout: o.bodyTimeoutMs,
    keepAliveTimeout: o.keepAliveTimeoutMs,
    connections: o.connectionsPerOrigin,
    // HTTP/1.1 keeps "one request per connection" so the connect/timeout/reset phases of a failure
    // say exactly what happened to that request.
    allowH2: false,
  });
}
