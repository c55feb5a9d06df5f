import { seededRandom } from '@telegram-receiver/testing';
import { describe, expect, it } from 'vitest';
import {
  TELEGRAM_MESSAGE_LIMIT,
  shouldSendAsDocument,
  splitMessage,
} from '../../src/format/split-message.ts';
import { escapeHtml } from '../../src/format/escape-html.ts';

// ---- helpers for checking parts --------------------------------------------------------------

function stripTags(html: string): string {
  return html.replace(/<\/?[a-zA-Z][^<>]*>/g, '');
}

function decodeEntities(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#[0-9]+|#[xX][0-9a-fA-F]+);/g, (_m, name: string) => {
    if (name === 'amp') return '&';
    if (name === 'lt') return '<';
    if (name === 'gt') return '>';
    if (name === 'quot') return '"';
    const code =
      name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
    return String.fromCodePoint(code);
  });
}

const visible = (html: string) => decodeEntities(stripTags(html));

/** Tags balanced and properly nested within one part. */
function balanced(html: string): boolean {
  const stack: string[] = [];
  for (const [tag] of html.matchAll(/<\/?[a-zA-Z][^<>]*>/g)) {
    const name = /^<\/?([a-zA-Z0-9-]+)/.exec(tag)?.[1]?.toLowerCase() ?? '';
    if (tag.startsWith('</')) {
      if (stack.pop() !== name) return false;
    } else stack.push(name);
  }
  return stack.length === 0;
}

/** No entity or tag cut in two: every '&' starts a whole entity, every '<' a whole tag. */
function noBrokenMarkup(html: string): boolean {
  return (
    !/&(?!(amp|lt|gt|quot|#[0-9]+|#[xX][0-9a-fA-F]+);)/.test(html) &&
    !/<[^>]*$/.test(html) &&
    !/^[^<]*>/.test(html)
  );
}

/**
 * Whether the parts give back `original` when each cut is either a dropped newline (line cut) or
 * nothing (hard cut inside a long line). Backtracks over the two choices at each cut.
 */
function rejoins(parts: string[], original: string): boolean {
  const texts = parts.map(visible);
  const memo = new Map<string, boolean>();
  const walk = (i: number, at: number): boolean => {
    const key = `${i}:${at}`;
    const known = memo.get(key);
    if (known !== undefined) return known;
    const part = texts[i] as string;
    let ok = false;
    if (original.startsWith(part, at)) {
      const end = at + part.length;
      // A cut at the text's last newline leaves nothing after it: that newline is dropped too.
      if (i === texts.length - 1) ok = end === original.length || original.slice(end) === '\n';
      else ok = (original[end] === '\n' && walk(i + 1, end + 1)) || walk(i + 1, end);
    }
    memo.set(key, ok);
    return ok;
  };
  return texts.length === 0 ? original === '' : walk(0, 0);
}

// ---- random Telegram-HTML texts -------------------------------------------------------------

const ALPHABET = ['a', 'b', 'z', ' ', ' ', '&', '<', '>', '"', 'é', '🙂', '👍🏽', '𝕏', '中', '\t', ';', '#'];

function randomRaw(rand: () => number, maxLen: number): string {
  const lines: string[] = [];
  const nLines = 1 + Math.floor(rand() * 12);
  for (let l = 0; l < nLines; l++) {
    const roll = rand();
    const len = roll < 0.1 ? 0 : roll < 0.25 ? Math.floor(rand() * maxLen * 1.5) : Math.floor(rand() * 60);
    let line = '';
    for (let c = 0; c < len; c++) line += ALPHABET[Math.floor(rand() * ALPHABET.length)];
    lines.push(line);
  }
  return lines.join('\n');
}

/** Raw text pieces escaped, some wrapped in <pre><code> as formatResult does. */
function randomHtml(rand: () => number, maxLen: number): string {
  const pieces: string[] = [];
  const n = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < n; i++) {
    const raw = randomRaw(rand, maxLen);
    pieces.push(rand() < 0.5 ? `<pre><code>${escapeHtml(raw)}</code></pre>` : escapeHtml(raw));
  }
  return pieces.join('\n');
}

// ---- tests -----------------------------------------------------------------------------------

describe('splitMessage', () => {
  it('should return one part for a text within the limit, and none for an empty text', () => {
    expect(splitMessage('hello')).toEqual(['hello']);
    expect(splitMessage('x'.repeat(4096))).toEqual(['x'.repeat(4096)]);
    expect(splitMessage('')).toEqual([]);
  });

  it('should cut on line boundaries and drop the newline at each cut', () => {
    const lines = Array.from({ length: 300 }, (_, i) => `line ${i} ${'x'.repeat(30)}`);
    const text = lines.join('\n');
    const parts = splitMessage(text, 1000);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(1000);
      expect(part.startsWith('line ')).toBe(true);
      expect(part.endsWith('x')).toBe(true);
    }
    expect(parts.join('\n')).toBe(text);
  });

  it('should close a <pre><code> block at a cut and reopen it in the next part', () => {
    const code = Array.from({ length: 100 }, (_, i) => `code line ${i}`).join('\n');
    const html = `Intro\n<pre><code>${code}</code></pre>\nOutro`;
    const parts = splitMessage(html, 300);
    expect(parts.length).toBeGreaterThan(2);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(300);
      expect(balanced(part)).toBe(true);
    }
    expect(parts[1]?.startsWith('<pre><code>')).toBe(true);
    expect(parts.at(-2)?.endsWith('</code></pre>')).toBe(true);
    expect(rejoins(parts, visible(html))).toBe(true);
  });

  it('should cut a long line hard, never inside an entity or an emoji', () => {
    const html = '&amp;🙂'.repeat(3000);
    const parts = splitMessage(html, 100);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(100);
      expect(noBrokenMarkup(part)).toBe(true);
      expect(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/.test(part)).toBe(false);
    }
    expect(parts.join('')).toBe(html);
  });

  it('should prefer cutting a long line after a space', () => {
    const words = Array.from({ length: 500 }, (_, i) => `word${i}`).join(' ');
    const parts = splitMessage(words, 200);
    for (const part of parts.slice(0, -1)) expect(part.endsWith(' ')).toBe(true);
    expect(parts.join('')).toBe(words);
  });

  it('should not leave an empty code block at the end of a part', () => {
    const html = `${'a'.repeat(90)}\n<pre><code>${'b'.repeat(200)}</code></pre>`;
    const parts = splitMessage(html, 100);
    expect(parts[0]).toBe('a'.repeat(90));
    expect(parts.every(p => !p.includes('<pre><code></code></pre>'))).toBe(true);
  });

  it('should reject a limit too small to hold the markup', () => {
    expect(() => splitMessage('x'.repeat(100), 10)).toThrow(RangeError);
    expect(() => splitMessage('x', 0)).toThrow(RangeError);
    expect(() => splitMessage('x', Number.NaN)).toThrow(RangeError);
  });

  it('should handle a megabyte of output in reasonable time and parts', () => {
    const html = `<pre><code>${escapeHtml('some <output> & more\n'.repeat(50_000))}</code></pre>`;
    const started = Date.now();
    const parts = splitMessage(html);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(parts.every(p => p.length <= TELEGRAM_MESSAGE_LIMIT && balanced(p))).toBe(true);
    expect(rejoins(parts, visible(html))).toBe(true);
  });

  it('should keep every property on random texts (property test)', () => {
    for (let seed = 1; seed <= 400; seed++) {
      const rand = seededRandom(seed);
      const limit = [64, 100, 257, 1000, 4096][seed % 5] as number;
      const html = randomHtml(rand, limit);
      const parts = splitMessage(html, limit);
      const context = `seed ${seed}, limit ${limit}`;
      for (const part of parts) {
        expect(part.length, context).toBeLessThanOrEqual(limit);
        expect(balanced(part), context).toBe(true);
        expect(noBrokenMarkup(part), context).toBe(true);
        expect(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/.test(part), context).toBe(false);
      }
      expect(rejoins(parts, visible(html)), context).toBe(true);
      // When every line fits with its markup and has text (a part is never blank), all cuts are line
      // cuts: the parts joined by '\n' are the text.
      if (html.split('\n').every(line => line.length + 30 < limit && stripTags(line) !== '')) {
        expect(parts.map(visible).join('\n'), context).toBe(visible(html));
      }
    }
  });
});

describe('shouldSendAsDocument', () => {
  it('should say yes only above the message count', () => {
    expect(shouldSendAsDocument(['a', 'b', 'c', 'd', 'e'])).toBe(false);
    expect(shouldSendAsDocument(['a', 'b', 'c', 'd', 'e', 'f'])).toBe(true);
    expect(shouldSendAsDocument(['a', 'b'], 1)).toBe(true);
  });
});
