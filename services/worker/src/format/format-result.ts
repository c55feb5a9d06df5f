import { SecretRedactor, type CursorRunnerResult } from '@telegram-receiver/core';
import { cleanText } from './clean-text.ts';
import { escapeHtml } from './escape-html.ts';

/** Options of {@link formatResult}. */
export interface FormatResultOptions {
  /** The `debug` setting: headline, iterations, duration, output in a code block, warnings. */
  debug: boolean;
  /**
   * Scrubs secrets the agent may have printed before they reach a chat. Bot tokens are always
   * scrubbed by shape. @defaultValue a redactor that knows no values (token shapes only)
   */
  redactor?: SecretRedactor;
}

/** The seed shows at most this much of the error text as warnings under a successful result. */
const WARNINGS_MAX_CHARS = 500;

/** Sent when a run succeeded with nothing to show (Telegram rejects an empty message). */
const EMPTY_SUCCESS_TEXT = '✅ Cursor command completed successfully';

// Scrubs bot tokens by shape even when the caller has no redactor of its own.
const TOKEN_SHAPES = new SecretRedactor([]);

/** Cut to at most `max` UTF-16 units without splitting a surrogate pair. */
function cutAt(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return text.slice(0, end);
}

/** Outside text on its way into a chat: cleaned, secrets scrubbed (not yet escaped). */
function scrubbed(text: string | null | undefined, redactor: SecretRedactor): string {
  const clean = cleanText(text);
  return clean && TOKEN_SHAPES.redact(redactor.redact(clean));
}

function formatError(result: CursorRunnerResult, debug: boolean, redactor: SecretRedactor): string {
  const error = escapeHtml(scrubbed(result.error, redactor) || 'Unknown error occurred');
  return debug ? `❌ Cursor command failed\n\nError: ${error}` : `❌ ${error}`;
}

function formatSuccess(result: CursorRunnerResult, debug: boolean, redactor: SecretRedactor): string {
  const parts: string[] = [];
  if (debug) {
    parts.push('✅ Cursor command completed successfully');
    parts.push(`📊 Iterations: ${Number.isFinite(result.iterations) ? result.iterations : 0}`);
    parts.push(`⏱ Duration: ${escapeHtml(scrubbed(result.duration, redactor) || 'N/A')}`);
  }
  const output = scrubbed(result.output, redactor);
  if (output) {
    parts.push(debug ? `\n📝 Output:\n<pre><code>${escapeHtml(output)}</code></pre>` : escapeHtml(output));
  }
  const warnings = scrubbed(result.error, redactor);
  if (debug && warnings) {
    const shown =
      warnings.length > WARNINGS_MAX_CHARS ? `${cutAt(warnings, WARNINGS_MAX_CHARS)}...` : warnings;
    parts.push(`\n⚠️ Warnings:\n<pre><code>${escapeHtml(shown)}</code></pre>`);
  }
  return parts.length > 0 ? parts.join('\n') : EMPTY_SUCCESS_TEXT;
}

/**
 * The chat text for a cursor-runner result, in Telegram HTML, by the seed's rules (seed-contract
 * §1.6). Every piece of cursor-runner text is cleaned, scrubbed of secrets and escaped, so only our
 * own markup is markup. Unlike the seed nothing is truncated: `splitMessage` cuts it into messages.
 */
export function formatResult(result: CursorRunnerResult, opts: FormatResultOptions): string {
  const redactor = opts.redactor ?? TOKEN_SHAPES;
  return result.success
    ? formatSuccess(result, opts.debug, redactor)
    : formatError(result, opts.debug, redactor);
}

/**
 * The seed's reply when handling a result failed after its state was loaded. The message goes to
 * a chat, so bot tokens are scrubbed by shape, and by value any secret `redactor` knows.
 */
export function formatProcessingError(message: string, redactor: SecretRedactor = TOKEN_SHAPES): string {
  const safe = scrubbed(message, redactor);
  return `❌ Error processing cursor command result: ${escapeHtml(safe || 'unknown error')}`;
}
