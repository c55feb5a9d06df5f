import { trace } from '@opentelemetry/api';
import { pino, type Logger, type DestinationStream } from 'pino';
import { REDACTED, SecretRedactor } from './redact.ts';

export type { Logger } from 'pino';

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Service name written as `service` on every line. */
  service: string;
  /** pino level. @defaultValue 'info' */
  level?: string;
  /** Secret values to scrub from every line (tokens are also caught by shape). */
  secrets?: Iterable<string | undefined>;
  /**
   * Scrub with this redactor instead (it then holds the secrets): share it with the rest of the
   * process, so a secret added later (a reloaded bots file) is scrubbed from log lines too.
   */
  redactor?: SecretRedactor;
  /** Where lines go. @defaultValue stdout */
  destination?: DestinationStream;
}

/**
 * JSON logger (pino). Known secret-bearing fields are removed by path, and every serialized line is
 * scrubbed by value, so a token inside an error message or URL never reaches the log. Lines written
 * inside a traced operation carry `trace_id` and `span_id`.
 */
export function createLogger(opts: LoggerOptions): Logger {
  const redactor = opts.redactor ?? new SecretRedactor(opts.secrets ?? []);
  const destination = opts.destination ?? pino.destination({ dest: 1, sync: false });
  const scrubbing: DestinationStream = {
    write(line: string) {
      destination.write(redactor.redact(line));
    },
  };
  return pino(
    {
      level: opts.level ?? 'info',
      base: { service: opts.service },
      // Lines written inside a traced operation name it, so a log line leads to its trace.
      mixin() {
        const span = trace.getActiveSpan()?.spanContext();
        return span === undefined ? {} : { trace_id: span.traceId, span_id: span.spanId };
      },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'req.headers["x-telegram-bot-api-secret-token"]',
          'req.headers["x-webhook-secret"]',
          'req.headers["x-cursor-runner-secret"]',
          'req.headers["x-admin-secret"]',
          'req.headers["xi-api-key"]',
          'req.headers.authorization',
          'token',
          'secret',
          'apiKey',
        ],
        censor: REDACTED,
      },
      serializers: { err: pino.stdSerializers.err },
    },
    scrubbing,
  );
}
