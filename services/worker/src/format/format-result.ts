import type { CursorRunnerResult } from '@telegram-receiver/core';
import { cleanText } from './clean-text.ts';
import { escapeHtml } from './escape-html.ts';

/** Options of {@link formatResult}. */
export interface FormatResultOptions {
  /** The `debug` setting: headline, iterations, duration, output in a code block, warnings. */
  debug: boolean;
}

/** The seed shows at most this much of the error text as warnings under a successful result. */
const WARNINGS_MAX_CHARS = 500;

/** Sent when a run succeeded with nothing to show (Telegram rejects an empty message). */
const EMPTY_SUCCESS_TEXT = '✅ Cursor command completed successfully';

/** Cut to at most `max` UTF-16 units without splitting a surrogate pair. */
function cutAt(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return text.slice(0, end);
}

function formatError(result: CursorRunnerResult, debug: boolean): string {
  const error = escapeHtml(cleanText(result.error) || 'Unknown error occurred');
  return debug ? `❌ Cursor command failed\n\nError: ${error}` : `❌ ${error}`;
}

function formatSuccess(result: CursorRunnerResult, debug: boolean): string {
  const parts: string[] = [];
  if (debug) {
    parts.push('✅ Cursor command completed successfully');
    parts.push(`📊 Iterations: ${Number.isFinite(result.iterations) ? result.iterations : 0}`);
    parts.push(`⏱ Duration: ${escapeHtml(cleanText(result.duration) || 'N/A')}`);
  }
  const output = cleanText(result.output);
  if (output) {
    parts.push(debug ? `\n📝 Output:\n<pre><code>${escapeHtml(output)}</code></pre>` : escapeHtml(output));
  }
  const warnings = cleanText(result.error);
  if (debug && warnings) {
    const shown =
      warnings.length > WARNINGS_MAX_CHARS ? `${cutAt(warnings, WARNINGS_MAX_CHARS)}...` : warnings;
    parts.push(`\n⚠️ Warnings:\n<pre><code>${escapeHtml(shown)}</code></pre>`);
  }
  return parts.length > 0 ? parts.join('\n') : EMPTY_SUCCESS_TEXT;
}

/**
 * The chat text for a cursor-runner result, in Telegram HTML, by the seed's rules (seed-contract
 * §1.6). Every piece of cursor-runner text is cleaned and escaped, so only our own markup is
 * markup. Unlike the seed nothing is truncated: {@link splitMessage} cuts it into messages.
 */
export function formatResult(result: CursorRunnerResult, opts: FormatResultOptions): string {
  return result.success ? formatSuccess(result, opts.debug) : formatError(result, opts.debug);
}

/** The seed's reply when handling a result failed after its state was loaded. */
export function formatProcessingError(message: string): string {
  return `❌ Error processing cursor command result: ${escapeHtml(cleanText(message) || 'unknown error')}`;
}
