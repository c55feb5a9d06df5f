import { describe, expect, it } from 'vitest';
import { SecretRedactor, type CursorRunnerResult } from '@telegram-receiver/core';
import { cleanText } from '../../src/format/clean-text.ts';
import { escapeHtml } from '../../src/format/escape-html.ts';
import { formatProcessingError, formatResult } from '../../src/format/format-result.ts';

function result(extra: Partial<CursorRunnerResult>): CursorRunnerResult {
  return {
    requestId: 'r',
    success: true,
    iterations: 3,
    maxIterations: 25,
    output: '',
    error: null,
    exitCode: 0,
    ...extra,
  };
}

describe('cleanText', () => {
  it('should strip ANSI sequences, turn CRLF into LF and trim', () => {
    expect(cleanText('\u001b[31mred\u001b[0m\r\nnext \u001b[?25l\u001b[2K ')).toBe('red\nnext');
    expect(cleanText('  \r\n ')).toBe('');
    expect(cleanText(null)).toBe('');
    expect(cleanText(undefined)).toBe('');
  });
});

describe('escapeHtml', () => {
  it('should escape &, < and > once each', () => {
    expect(escapeHtml('a < b && c > d &amp;')).toBe('a &lt; b &amp;&amp; c &gt; d &amp;amp;');
    expect(escapeHtml('"quotes" stay')).toBe('"quotes" stay');
  });
});

describe('formatResult', () => {
  it('should show only the output for a success when debug is off', () => {
    expect(formatResult(result({ output: 'done <ok>' }), { debug: false })).toBe('done &lt;ok&gt;');
  });

  it("should show the seed's details and the output in a code block when debug is on", () => {
    expect(formatResult(result({ output: 'x & y', duration: '1.2s' }), { debug: true })).toBe(
      '✅ Cursor command completed successfully\n📊 Iterations: 3\n⏱ Duration: 1.2s\n\n📝 Output:\n<pre><code>x &amp; y</code></pre>',
    );
  });

  it('should say N/A for a missing duration and show warnings only in debug', () => {
    const r = result({ output: 'out', error: '\u001b[33mwarn <w>\u001b[0m' });
    expect(formatResult(r, { debug: true })).toBe(
      '✅ Cursor command completed successfully\n📊 Iterations: 3\n⏱ Duration: N/A\n\n📝 Output:\n<pre><code>out</code></pre>\n\n⚠️ Warnings:\n<pre><code>warn &lt;w&gt;</code></pre>',
    );
    expect(formatResult(r, { debug: false })).toBe('out');
  });

  it('should cut warnings at 500 characters as the seed does, never inside an emoji', () => {
    const warning = `${'w'.repeat(499)}🙂tail`;
    const text = formatResult(result({ output: 'o', error: warning }), { debug: true });
    expect(text).toContain(`<pre><code>${'w'.repeat(499)}...</code></pre>`);
  });

  it('should keep a long output whole (splitting comes later)', () => {
    const output = 'line\n'.repeat(5000).trim();
    expect(formatResult(result({ output }), { debug: false })).toBe(output);
    expect(formatResult(result({ output }), { debug: true })).toContain(`<pre><code>${output}</code></pre>`);
  });

  it('should never send an empty message for a success with nothing to show', () => {
    expect(formatResult(result({ output: ' \u001b[0m ' }), { debug: false })).toBe(
      '✅ Cursor command completed successfully',
    );
  });

  it('should format a failure by the seed rules, escaped', () => {
    const r = result({ success: false, error: 'boom <script>' });
    expect(formatResult(r, { debug: false })).toBe('❌ boom &lt;script&gt;');
    expect(formatResult(r, { debug: true })).toBe('❌ Cursor command failed\n\nError: boom &lt;script&gt;');
    expect(formatResult(result({ success: false, error: null }), { debug: false })).toBe(
      '❌ Unknown error occurred',
    );
    expect(formatResult(result({ success: false, error: '  ' }), { debug: false })).toBe(
      '❌ Unknown error occurred',
    );
  });

  it('should let no markup from cursor-runner through, only its own', () => {
    const hostile = '</code></pre><a href="javascript:x">click</a>&lt;';
    const text = formatResult(result({ output: hostile, error: hostile, duration: hostile }), {
      debug: true,
    });
    const tags = text.match(/<[^>]*>/g) ?? [];
    expect(new Set(tags)).toEqual(new Set(['<pre>', '<code>', '</code>', '</pre>']));
    expect(text).toContain('&amp;lt;');
  });
});

describe('formatResult secrets', () => {
  it('should scrub bot tokens by shape and known secrets by value from every piece of agent text', () => {
    const token = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw';
    const leak = `env: TELEGRAM_BOT_TOKEN=${token} ELEVENLABS_API_KEY=sk_live_abcdef123`;
    const redactor = new SecretRedactor(['sk_live_abcdef123']);
    for (const r of [
      result({ output: leak, error: leak, duration: leak }),
      result({ success: false, error: leak }),
    ]) {
      for (const debug of [true, false]) {
        const text = formatResult(r, { debug, redactor });
        expect(text).not.toContain('AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw');
        expect(text).not.toContain('sk_live_abcdef123');
      }
      expect(formatResult(r, { debug: true })).not.toContain(token);
    }
  });
});

describe('formatProcessingError', () => {
  it("should give the seed's text with the message escaped", () => {
    expect(formatProcessingError('bad <thing> & more')).toBe(
      '❌ Error processing cursor command result: bad &lt;thing&gt; &amp; more',
    );
    expect(formatProcessingError('')).toBe('❌ Error processing cursor command result: unknown error');
  });

  it('should never put a bot token or a known secret into the chat', () => {
    const token = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw';
    const text = formatProcessingError(
      `request to https://api.telegram.org/bot${token}/sendMessage failed; key sk_live_abcdef123`,
      new SecretRedactor(['sk_live_abcdef123']),
    );
    expect(text).not.toContain(token);
    expect(text).not.toContain('AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw');
    expect(text).not.toContain('sk_live_abcdef123');
    expect(text).toContain('[REDACTED]');
    expect(formatProcessingError(`bad ${token}`)).not.toContain(token);
  });
});
