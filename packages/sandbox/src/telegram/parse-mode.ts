/**
 * The Bot API's formatting checks: text is parsed the way Telegram parses it (HTML after tdlib's
 * parse_html, MarkdownV2's reserved characters and entity markers), and a message that Telegram
 * would refuse is refused with Telegram's wording. Returns the text as the chat would show it.
 */

/** Thrown with the part after "Bad Request: can't parse entities: ". */
export class ParseEntitiesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParseEntitiesError';
  }
}

const HTML_TAGS = new Set([
  'a',
  'b',
  'strong',
  'i',
  'em',
  'u',
  'ins',
  's',
  'strike',
  'del',
  'span',
  'tg-spoiler',
  'tg-emoji',
  'code',
  'pre',
  'blockquote',
]);

const NAMED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"' };

const byteOffset = (text: string, index: number): number => Buffer.byteLength(text.slice(0, index), 'utf8');

/** Plain text of `text` under `parse_mode` (undefined = none); throws {@link ParseEntitiesError}. */
export function plainText(text: string, parseMode: string | undefined): string {
  if (parseMode === undefined || parseMode === '') return text;
  switch (parseMode.toLowerCase()) {
    case 'html':
      return parseHtml(text);
    case 'markdownv2':
      return parseMarkdownV2(text);
    case 'markdown':
      return text.replace(/[*_`[\]]/g, '');
    default:
      throw new UnsupportedParseModeError();
  }
}

/** parse_mode is none of HTML, MarkdownV2, Markdown. */
export class UnsupportedParseModeError extends Error {
  constructor() {
    super('unsupported parse_mode');
    this.name = 'UnsupportedParseModeError';
  }
}

function parseHtml(text: string): string {
  let out = '';
  const open: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text.charAt(i);
    if (c === '&') {
      const m = /^&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]{2,6});/.exec(text.slice(i, i + 12));
      const name = m?.[1];
      let decoded: string | undefined;
      if (name?.startsWith('#x')) decoded = safeCodePoint(parseInt(name.slice(2), 16));
      else if (name?.startsWith('#')) decoded = safeCodePoint(parseInt(name.slice(1), 10));
      else if (name !== undefined) decoded = NAMED_ENTITIES[name];
      // tdlib keeps an unknown entity as literal text
      if (decoded !== undefined && m) {
        out += decoded;
        i += m[0].length;
      } else {
        out += '&';
        i++;
      }
      continue;
    }
    if (c !== '<') {
      out += c;
      i++;
      continue;
    }
    const begin = i;
    if (text[i + 1] === '/') {
      if (open.length === 0) {
        throw new ParseEntitiesError(`Unexpected end tag at byte offset ${byteOffset(text, begin)}`);
      }
      const close = text.indexOf('>', i + 2);
      if (close < 0) {
        throw new ParseEntitiesError(`Unclosed end tag at byte offset ${byteOffset(text, begin)}`);
      }
      const name = text
        .slice(i + 2, close)
        .trim()
        .toLowerCase();
      const expected = open.at(-1) ?? '';
      if (name !== expected && name !== '') {
        throw new ParseEntitiesError(
          `Unmatched end tag at byte offset ${byteOffset(text, begin)}, expected "</${expected}>", found "</${name}>"`,
        );
      }
      open.pop();
      i = close + 1;
      continue;
    }
    let j = i + 1;
    while (j < text.length && !/[\s>]/.test(text.charAt(j))) j++;
    const name = text.slice(i + 1, j).toLowerCase();
    if (!HTML_TAGS.has(name)) {
      throw new ParseEntitiesError(
        `Unsupported start tag "${name}" at byte offset ${byteOffset(text, begin)}`,
      );
    }
    const attributes: Record<string, string> = {};
    for (;;) {
      while (j < text.length && /\s/.test(text.charAt(j))) j++;
      if (j >= text.length) {
        throw new ParseEntitiesError(`Unclosed start tag at byte offset ${byteOffset(text, begin)}`);
      }
      if (text[j] === '>') break;
      const attr = /^([a-zA-Z0-9_-]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>"']+))?/.exec(text.slice(j));
      if (!attr) {
        throw new ParseEntitiesError(
          `Expected equal sign in declaration of an attribute of the tag "${name}" at byte offset ${byteOffset(text, begin)}`,
        );
      }
      const raw = attr[2] ?? '';
      attributes[(attr[1] ?? '').toLowerCase()] =
        raw.startsWith('"') || raw.startsWith("'") ? raw.slice(1, -1) : raw;
      j += attr[0].length;
    }
    if (name === 'span' && attributes.class !== 'tg-spoiler') {
      throw new ParseEntitiesError(
        `Tag "span" must have class "tg-spoiler" at byte offset ${byteOffset(text, begin)}`,
      );
    }
    open.push(name);
    i = j + 1;
  }
  if (open.length > 0) {
    throw new ParseEntitiesError(`Can't find end tag corresponding to start tag "${open.at(-1) ?? ''}"`);
  }
  return out;
}

function safeCodePoint(n: number): string | undefined {
  return Number.isInteger(n) && n > 0 && n <= 0x10ffff ? String.fromCodePoint(n) : undefined;
}

/** Characters MarkdownV2 reserves outside entities (they must be escaped with a backslash). */
const MD2_RESERVED = new Set([...'_*[]()~`>#+-=|{}.!']);

const MD2_ENTITY: Record<string, string> = {
  '*': 'Bold',
  _: 'Italic',
  __: 'Underline',
  '~': 'Strikethrough',
  '||': 'Spoiler',
};

function parseMarkdownV2(text: string): string {
  let out = '';
  const open: { marker: string; at: number }[] = [];
  let linkOpen: number | undefined;
  let i = 0;
  const fail = (message: string): never => {
    throw new ParseEntitiesError(message);
  };
  while (i < text.length) {
    const c = text.charAt(i);
    const atLineStart = i === 0 || text[i - 1] === '\n';
    if (c === '\\') {
      const next = text[i + 1];
      if (next !== undefined && next.charCodeAt(0) >= 1 && next.charCodeAt(0) <= 126) {
        out += next;
        i += 2;
        continue;
      }
      out += c;
      i++;
      continue;
    }
    if (c === '`') {
      const fence = text.startsWith('```', i) ? '```' : '`';
      let j = i + fence.length;
      let body = '';
      while (j < text.length && !text.startsWith(fence, j)) {
        if (text[j] === '\\' && j + 1 < text.length) {
          body += text[j + 1];
          j += 2;
        } else {
          body += text[j];
          j++;
        }
      }
      if (j >= text.length) {
        fail(
          `Can't find end of ${fence === '```' ? 'Pre' : 'Code'} entity at byte offset ${byteOffset(text, i)}`,
        );
      }
      out += fence === '```' ? body.replace(/^[^\n]*\n/, '') : body;
      i = j + fence.length;
      continue;
    }
    const marker = text.startsWith('__', i) ? '__' : text.startsWith('||', i) ? '||' : c;
    if (marker in MD2_ENTITY) {
      if (open.length > 0 && open.at(-1)?.marker === marker) open.pop();
      else open.push({ marker, at: i });
      i += marker.length;
      continue;
    }
    if (c === '[') {
      linkOpen = i;
      i++;
      continue;
    }
    if (c === ']' && linkOpen !== undefined) {
      if (text[i + 1] === '(') {
        const close = text.indexOf(')', i + 2);
        if (close < 0) fail(`Can't find end of a URL at byte offset ${byteOffset(text, i + 1)}`);
        i = close + 1;
      } else {
        i++;
      }
      linkOpen = undefined;
      continue;
    }
    if (c === '>' && atLineStart) {
      i++;
      continue;
    }
    if (MD2_RESERVED.has(c)) {
      fail(`Character '${c}' is reserved and must be escaped with the preceding '\\'`);
    }
    out += c;
    i++;
  }
  if (linkOpen !== undefined) {
    fail(`Can't find end of TextUrl entity at byte offset ${byteOffset(text, linkOpen)}`);
  }
  const unclosed = open[open.length - 1];
  if (unclosed) {
    fail(
      `Can't find end of ${MD2_ENTITY[unclosed.marker] ?? 'an'} entity at byte offset ${byteOffset(text, unclosed.at)}`,
    );
  }
  return out;
}
