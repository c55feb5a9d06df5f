/**
 * MP3 bytes a player recognises: an ID3v2.4 tag (optionally with a TXXX frame carrying the sandbox
 * transcript) followed by silent MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz, mono).
 */

const FRAME_HEADER = Uint8Array.of(0xff, 0xfb, 0x90, 0xc0);
const FRAME_LENGTH = 417; // 144 * 128000 / 44100, no padding
const FRAME_SECONDS = 1152 / 44_100;

function syncsafe(n: number): Buffer {
  return Buffer.from([(n >> 21) & 0x7f, (n >> 14) & 0x7f, (n >> 7) & 0x7f, n & 0x7f]);
}

/** Options of {@link buildMp3}. */
export interface Mp3Options {
  durationMs?: number;
  /** TXXX frames (description → value), UTF-8. */
  tags?: Record<string, string>;
}

export function buildMp3(opts: Mp3Options = {}): Buffer {
  const frames: Buffer[] = [];
  for (const [description, value] of Object.entries(opts.tags ?? {})) {
    const content = Buffer.concat([
      Buffer.from([3]), // UTF-8
      Buffer.from(description, 'utf8'),
      Buffer.from([0]),
      Buffer.from(value, 'utf8'),
    ]);
    frames.push(Buffer.from('TXXX', 'latin1'), syncsafe(content.length), Buffer.from([0, 0]), content);
  }
  const body = Buffer.concat(frames);
  const id3 = Buffer.concat([
    Buffer.from('ID3', 'latin1'),
    Buffer.from([4, 0, 0]),
    syncsafe(body.length),
    body,
  ]);
  const count = Math.max(1, Math.ceil((opts.durationMs ?? 1000) / 1000 / FRAME_SECONDS));
  const frame = Buffer.alloc(FRAME_LENGTH);
  frame.set(FRAME_HEADER, 0);
  return Buffer.concat([id3, ...Array<Buffer>(count).fill(frame)]);
}

/** A 28-bit syncsafe integer at `at` (ID3v2 sizes). */
function syncsafeAt(bytes: Buffer, at: number): number {
  return (
    ((bytes.readUInt8(at) & 0x7f) << 21) |
    ((bytes.readUInt8(at + 1) & 0x7f) << 14) |
    ((bytes.readUInt8(at + 2) & 0x7f) << 7) |
    (bytes.readUInt8(at + 3) & 0x7f)
  );
}

/** TXXX frames of an ID3v2.4 tag at the start of `bytes` (empty when there is none). */
export function readId3Tags(bytes: Buffer): Record<string, string> {
  const tags: Record<string, string> = {};
  if (bytes.length < 10 || bytes.toString('latin1', 0, 3) !== 'ID3') return tags;
  const size = syncsafeAt(bytes, 6);
  const end = Math.min(bytes.length, 10 + size);
  let at = 10;
  while (at + 10 <= end) {
    const id = bytes.toString('latin1', at, at + 4);
    const length = syncsafeAt(bytes, at + 4);
    if (length === 0 || at + 10 + length > end) break;
    if (id === 'TXXX') {
      const content = bytes.subarray(at + 11, at + 10 + length);
      const nul = content.indexOf(0);
      if (nul >= 0) tags[content.toString('utf8', 0, nul).toUpperCase()] = content.toString('utf8', nul + 1);
    }
    at += 10 + length;
  }
  return tags;
}

/** Whether the bytes hold an MPEG audio frame sync (after an optional ID3 tag). */
export function looksLikeMp3(bytes: Buffer): boolean {
  let at = 0;
  if (bytes.length >= 10 && bytes.toString('latin1', 0, 3) === 'ID3') {
    at = 10 + syncsafeAt(bytes, 6);
  }
  return bytes.length >= at + 2 && bytes.readUInt8(at) === 0xff && (bytes.readUInt8(at + 1) & 0xe0) === 0xe0;
}
