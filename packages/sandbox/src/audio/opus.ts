import {
  MAX_PACKET_IN_PAGE,
  OGG_FLAG_BOS,
  OGG_FLAG_EOS,
  oggPageSize,
  oggPackets,
  parseOggPages,
  writeOggPage,
  writePacketPages,
} from './ogg.ts';

/**
 * Ogg/Opus voice notes (RFC 7845) built from real Opus packets: an OpusHead page, an OpusTags page
 * (where the sandbox hides a transcript for its speech-to-text), and 20 ms CELT silence frames.
 */

/** Tag that carries what the sandbox's speech-to-text "hears" in a file. */
export const TRANSCRIPT_TAG = 'SANDBOX_TRANSCRIPT';

const SAMPLES_PER_PACKET = 960; // 20 ms at 48 kHz
const PRE_SKIP = 312;
const PACKETS_PER_PAGE = 50; // one second of audio per page
/** TOC 0xF8 (config 31: CELT fullband 20 ms, mono, one frame) + a silent frame. */
const SILENCE_PACKET = Uint8Array.of(0xf8, 0xff, 0xfe);
const VENDOR = 'telegram-receiver sandbox';

/** Options of {@link buildOpusVoice}. */
export interface OpusVoiceOptions {
  /** Length of the audio. @defaultValue 1000 */
  durationMs?: number;
  /** Comments written into OpusTags (`KEY=value`). */
  tags?: Record<string, string>;
  /** Logical stream serial number. @defaultValue 0x53424f58 */
  serial?: number;
}

function opusHead(): Buffer {
  const head = Buffer.alloc(19);
  head.write('OpusHead', 0, 'latin1');
  head[8] = 1; // version
  head[9] = 1; // channels
  head.writeUInt16LE(PRE_SKIP, 10);
  head.writeUInt32LE(48_000, 12); // input sample rate (informational)
  head.writeInt16LE(0, 16); // output gain
  head[18] = 0; // channel mapping family
  return head;
}

function opusTags(tags: Record<string, string>): Buffer {
  const parts: Buffer[] = [Buffer.from('OpusTags', 'latin1')];
  const vendor = Buffer.from(VENDOR, 'utf8');
  parts.push(u32(vendor.length), vendor, u32(Object.keys(tags).length));
  for (const [key, value] of Object.entries(tags)) {
    const comment = Buffer.from(`${key}=${value}`, 'utf8');
    parts.push(u32(comment.length), comment);
  }
  return Buffer.concat(parts);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

/**
 * A valid Opus packet of exactly `length` bytes (≥ 5): code 3, one silent 20 ms frame, the rest
 * Opus padding (RFC 6716 §3.2.5). Used to grow a file to a requested size without breaking it.
 */
export function paddedOpusPacket(length: number): Buffer {
  if (length < 5) throw new RangeError('a padded Opus packet needs at least 5 bytes');
  const k = Math.floor((length - 5) / 255);
  const r = length - 5 - 255 * k;
  const packet = Buffer.alloc(length);
  packet[0] = 0xfb; // config 31, mono, code 3
  packet[1] = 0x41; // CBR, padding present, 1 frame
  packet.fill(255, 2, 2 + k); // each 255 adds 254 padding bytes
  packet[2 + k] = r;
  packet[3 + k] = 0xff;
  packet[4 + k] = 0xfe;
  return packet; // the padding bytes that follow are already zero
}

/** Pages of the head, tags and `durationMs` of silence; `eos` marks the last page. */
function basePages(opts: OpusVoiceOptions, eos: boolean): { pages: Buffer[]; granule: bigint } {
  const serial = opts.serial ?? 0x53424f58;
  const pages: Buffer[] = [
    writeOggPage({ flags: OGG_FLAG_BOS, granule: 0n, serial, sequence: 0, packets: [opusHead()] }),
  ];
  pages.push(
    ...writePacketPages(opusTags(opts.tags ?? {}), { flags: 0, granule: 0n, serial, firstSequence: 1 }),
  );
  const total = Math.max(1, Math.ceil((opts.durationMs ?? 1000) / 20));
  let granule = 0n;
  for (let done = 0; done < total; done += PACKETS_PER_PAGE) {
    const count = Math.min(PACKETS_PER_PAGE, total - done);
    granule += BigInt(count * SAMPLES_PER_PACKET);
    const last = done + count >= total;
    pages.push(
      writeOggPage({
        flags: eos && last ? OGG_FLAG_EOS : 0,
        granule,
        serial,
        sequence: pages.length,
        packets: Array<Uint8Array>(count).fill(SILENCE_PACKET),
      }),
    );
  }
  return { pages, granule };
}

/** A complete Ogg/Opus voice note. */
export function buildOpusVoice(opts: OpusVoiceOptions = {}): Buffer {
  return Buffer.concat(basePages(opts, true).pages);
}

/**
 * A voice note of exactly `sizeBytes` bytes, produced page by page so a 21 MB file is never held in
 * memory: the base note, then pages of padded Opus packets, the last one sized to land exactly.
 * Below the base note's size the note is cut short (which makes it invalid audio, on purpose).
 */
export function* opusVoiceOfSize(sizeBytes: number, opts: OpusVoiceOptions = {}): Generator<Buffer> {
  const natural = buildOpusVoice(opts);
  const minPage = oggPageSize(5);
  if (sizeBytes <= natural.length || sizeBytes - natural.length < minPage) {
    if (sizeBytes <= natural.length) {
      yield natural.subarray(0, sizeBytes);
    } else {
      yield natural;
      yield Buffer.alloc(sizeBytes - natural.length);
    }
    return;
  }
  const serial = opts.serial ?? 0x53424f58;
  const { pages, granule: start } = basePages(opts, false);
  yield* pages;
  let remaining = sizeBytes - pages.reduce((n, p) => n + p.length, 0);
  let granule = start;
  let sequence = pages.length;
  const page = (length: number, eos: boolean): Buffer => {
    granule += BigInt(SAMPLES_PER_PACKET);
    return writeOggPage({
      flags: eos ? OGG_FLAG_EOS : 0,
      granule,
      serial,
      sequence: sequence++,
      packets: [paddedOpusPacket(length)],
    });
  };
  const biggest = oggPageSize(MAX_PACKET_IN_PAGE);
  while (remaining > 0) {
    if (remaining >= biggest + minPage) {
      remaining -= biggest;
      yield page(MAX_PACKET_IN_PAGE, false);
      continue;
    }
    const exact = exactPacketLength(remaining);
    if (exact !== undefined) {
      remaining = 0;
      yield page(exact, true);
    } else {
      // This size falls in a gap of the page-size function: spend a small page and try again.
      remaining -= minPage;
      yield page(5, false);
    }
  }
}

/** The packet length whose one-packet page is exactly `pageSize` bytes, if there is one. */
function exactPacketLength(pageSize: number): number | undefined {
  const guess = Math.floor(((pageSize - 28) * 255) / 256);
  for (let length = Math.max(5, guess - 2); length <= guess + 2; length++) {
    if (oggPageSize(length) === pageSize) return length;
  }
  return undefined;
}

/** What an Ogg/Opus file says about itself. */
export interface OpusInfo {
  vendor: string;
  tags: Record<string, string>;
  /** Playable length from the last granule position minus the pre-skip. */
  durationSecs: number;
}

/** Read OpusHead/OpusTags of an Ogg/Opus file; throws when the bytes are not Ogg/Opus. */
export function readOpusInfo(bytes: Uint8Array): OpusInfo {
  const pages = parseOggPages(bytes);
  const packets = oggPackets(pages);
  const head = packets[0];
  const tags = packets[1];
  if (head?.toString('latin1', 0, 8) !== 'OpusHead') throw new Error('first packet is not OpusHead');
  if (tags?.toString('latin1', 0, 8) !== 'OpusTags') throw new Error('second packet is not OpusTags');
  const preSkip = head.readUInt16LE(10);
  let at = 8;
  const vendorLength = tags.readUInt32LE(at);
  const vendor = tags.toString('utf8', at + 4, at + 4 + vendorLength);
  at += 4 + vendorLength;
  const count = tags.readUInt32LE(at);
  at += 4;
  const out: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    const length = tags.readUInt32LE(at);
    const comment = tags.toString('utf8', at + 4, at + 4 + length);
    at += 4 + length;
    const eq = comment.indexOf('=');
    if (eq > 0) out[comment.slice(0, eq).toUpperCase()] = comment.slice(eq + 1);
  }
  const lastGranule = pages.at(-1)?.granule ?? 0n;
  return { vendor, tags: out, durationSecs: Math.max(0, Number(lastGranule) - preSkip) / 48_000 };
}
