/** Telegram's `sendMessage` text limit. */
export const TELEGRAM_MESSAGE_LIMIT = 4096;

/** Below this a part cannot hold reopened tags, an entity and their closing tags. */
const MIN_LIMIT = 64;

interface OpenTag {
  name: string;
  /** The opening tag as written (with attributes), to reopen it in the next part. */
  raw: string;
}

/** Immutable: parts of the split remember the stack at each position by reference. */
type TagStack = readonly OpenTag[];

type AtomKind = 'char' | 'space' | 'newline' | 'open' | 'close';

interface Atom {
  kind: AtomKind;
  text: string;
  /** Lower-cased tag name, for 'open' and 'close'. */
  name?: string;
}

// One atom each: a tag, an entity (never split), a newline, or one code point (so a surrogate pair
// is never split).
const ATOM = /<\/?[a-zA-Z][^<>]*>|&(?:[a-zA-Z][a-zA-Z0-9]*|#[0-9]+|#[xX][0-9a-fA-F]+);|\n|[\s\S]/gu;
const TAG_NAME = /^<\/?([a-zA-Z][a-zA-Z0-9-]*)/;

function tokenize(html: string): Atom[] {
  const atoms: Atom[] = [];
  for (const match of html.matchAll(ATOM)) {
    const text = match[0];
    if (text === '\n') atoms.push({ kind: 'newline', text });
    else if (text.length > 1 && text.startsWith('<')) {
      const name = (TAG_NAME.exec(text)?.[1] ?? '').toLowerCase();
      atoms.push({ kind: text.startsWith('</') ? 'close' : 'open', text, name });
    } else atoms.push({ kind: /^\s$/u.test(text) ? 'space' : 'char', text });
  }
  return atoms;
}

function apply(stack: TagStack, atom: Atom): TagStack {
  if (atom.kind === 'open') return [...stack, { name: atom.name ?? '', raw: atom.text }];
  if (atom.kind === 'close') {
    const at = stack.findLastIndex(t => t.name === atom.name);
    // A stray closing tag changes nothing we track; Telegram judges it, as it would unsplit.
    return at < 0 ? stack : [...stack.slice(0, at), ...stack.slice(at + 1)];
  }
  return stack;
}

function closing(stack: TagStack): string {
  let out = '';
  for (let i = stack.length - 1; i >= 0; i--) out += `</${stack[i]?.name}>`;
  return out;
}

function opening(stack: TagStack): string {
  return stack.map(t => t.raw).join('');
}

/**
 * Split Telegram-HTML into messages of at most `limit` characters each (UTF-16 units of the
 * markup, which is never less than what Telegram counts after parsing entities).
 *
 * - Cuts fall on line boundaries where possible, and the newline at a cut is dropped: joining the
 *   parts with `'\n'` gives the input back when no tag spans a cut. A part never holds only blank
 *   lines or markup (Telegram rejects an empty message), so a run of blank lines can push a cut
 *   into the next line. A newline cut at the very end (before closing tags only) is dropped too.
 * - A line longer than `limit` is cut hard (after a space when one is in the latter half of the
 *   part), never inside an entity such as `&amp;`, a tag, or a surrogate pair.
 * - A tag open at a cut (our `<pre><code>`) is closed at the end of the part and reopened at the
 *   start of the next, so every part is valid HTML on its own.
 *
 * Returns `[]` for an empty input. Throws `RangeError` when `limit` is below 64.
 */
export function splitMessage(html: string, limit = TELEGRAM_MESSAGE_LIMIT): string[] {
  if (!Number.isInteger(limit) || limit < MIN_LIMIT) {
    throw new RangeError(`splitMessage limit must be an integer of at least ${MIN_LIMIT}, got ${limit}`);
  }
  if (html.length <= limit) return html === '' ? [] : [html];
  const atoms = tokenize(html);
  const parts: string[] = [];
  let stack: TagStack = [];
  let start = 0;
  while (start < atoms.length) {
    // Body of this part, and for each atom appended: the body length and tag stack before it.
    let body = opening(stack);
    const lenBefore: number[] = [];
    const stackBefore: TagStack[] = [];
    let current = stack;
    let k = start;
    let lastNewline = -1;
    let lastSpace = -1;
    let visible = false;
    for (; k < atoms.length; k++) {
      const atom = atoms[k] as Atom;
      const next = apply(current, atom);
      if (body.length + atom.text.length + closing(next).length > limit) break;
      lenBefore.push(body.length);
      stackBefore.push(current);
      body += atom.text;
      current = next;
      if (atom.kind === 'newline' && visible) lastNewline = k;
      else if (atom.kind === 'space' && visible) lastSpace = k;
      if (atom.kind === 'char' || atom.kind === 'space') visible = true;
    }
    if (k === atoms.length) {
      parts.push(body + closing(current));
      break;
    }
    // Choose the cut: `end` = first atom not in this part, `resume` = first atom of the next part.
    let end: number;
    let resume: number;
    const blocked = atoms[k] as Atom;
    if (blocked.kind === 'newline' && visible) {
      end = k;
      resume = k + 1;
    } else if (lastNewline >= 0) {
      end = lastNewline;
      resume = lastNewline + 1;
    } else if (visible) {
      // Hard cut inside a long line: prefer just after a space if it keeps the part at least half full.
      end = lastSpace >= 0 && (lenBefore[lastSpace - start] ?? 0) >= limit / 2 ? lastSpace + 1 : k;
      resume = end;
    } else {
      throw new RangeError(`splitMessage limit ${limit} is too small for the markup at atom ${k}`);
    }
    // The stack where the next part starts (opening tags just before the cut move there).
    let nextStack = end - start < stackBefore.length ? (stackBefore[end - start] as TagStack) : current;
    if (resume > end) nextStack = apply(nextStack, atoms[end] as Atom);
    let cut = end;
    while (cut > start && atoms[cut - 1]?.kind === 'open') cut--;
    const cutStack = cut - start < stackBefore.length ? (stackBefore[cut - start] as TagStack) : current;
    const cutLen = cut - start < lenBefore.length ? (lenBefore[cut - start] as number) : body.length;
    parts.push(body.slice(0, cutLen) + closing(cutStack));
    // Closing tags right after the cut close what the part already closed: do not reopen them.
    while (resume < atoms.length && atoms[resume]?.kind === 'close') {
      const closer = atoms[resume] as Atom;
      if (nextStack.at(-1)?.name !== closer.name) break;
      nextStack = apply(nextStack, closer);
      resume++;
    }
    stack = nextStack;
    start = resume;
  }
  return parts;
}

/** Whether a reply split into `parts` is better sent as one document than as a burst of messages. */
export function shouldSendAsDocument(parts: readonly string[], maxMessages = 5): boolean {
  return parts.length > maxMessages;
}
