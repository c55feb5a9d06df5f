/**
 * Ogg framing (RFC 3533): page writer and reader with the Ogg CRC-32 (polynomial 0x04C11DB7, not
 * reflected, initial value 0), so the bytes we serve are real Ogg that any demuxer accepts.
 */

/** Slicing-by-4 tables: four bytes per step, so a 21 MB test file is checksummed quickly. */
const CRC_TABLES = (() => {
  const tables = Array.from({ length: 4 }, () => new Uint32Array(256));
  const [t0, t1, t2, t3] = tables as [Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t0[i] = r >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    t1[i] = ((t0[i] ?? 0) << 8) ^ (t0[(t0[i] ?? 0) >>> 24] ?? 0);
    t2[i] = ((t1[i] ?? 0) << 8) ^ (t0[(t1[i] ?? 0) >>> 24] ?? 0);
    t3[i] = ((t2[i] ?? 0) << 8) ^ (t0[(t2[i] ?? 0) >>> 24] ?? 0);
  }
  return { t0, t1, t2, t3 };
})();

/** Ogg's CRC-32 of `bytes`. */
export function oggCrc32(bytes: Uint8Array): number {
  const { t0, t1, t2, t3 } = CRC_TABLES;
  let crc = 0;
  let i = 0;
  const end4 = bytes.length - (bytes.length % 4);
  for (; i < end4; i += 4) {
    crc ^=
      ((bytes[i] ?? 0) << 24) |
      ((bytes[i + 1] ?? 0) << 16) |
      ((bytes[i + 2] ?? 0) << 8) |
      (bytes[i + 3] ?? 0);
    crc =
      (t3[crc >>> 24] ?? 0) ^
      (t2[(crc >>> 16) & 0xff] ?? 0) ^
      (t1[(crc >>> 8) & 0xff] ?? 0) ^
      (t0[crc & 0xff] ?? 0);
  }
  for (; i < bytes.length; i++) crc = ((crc << 8) ^ (t0[((crc >>> 24) ^ (bytes[i] ?? 0)) & 0xff] ?? 0)) >>> 0;
  return crc >>> 0;
}

export const OGG_FLAG_CONTINUED = 0x01;
export const OGG_FLAG_BOS = 0x02;
export const OGG_FLAG_EOS = 0x04;

/** Largest packet that still fits whole in one page (255 lacing values). */
export const MAX_PACKET_IN_PAGE = 255 * 255 - 1;

/** One Ogg page holding whole packets. */
export interface OggPageInput {
  flags: number;
  granule: bigint;
  serial: number;
  sequence: number;
  packets: Uint8Array[];
}

/** Bytes of a page whose packets each end on it (no continuation across pages). */
export function writeOggPage(page: OggPageInput): Buffer {
  const lacing: number[] = [];
  for (const packet of page.packets) lacing.push(...lacingOf(packet.length));
  return writeOggPageRaw(page, lacing, Buffer.concat(page.packets));
}

function lacingOf(length: number): number[] {
  return [...Array<number>(Math.floor(length / 255)).fill(255), length % 255];
}

function writeOggPageRaw(
  page: Omit<OggPageInput, 'packets'>,
  lacing: readonly number[],
  data: Uint8Array,
): Buffer {
  if (lacing.length > 255) throw new RangeError(`Ogg page needs ${lacing.length} lacing values (max 255)`);
  const out = Buffer.alloc(27 + lacing.length + data.length);
  out.write('OggS', 0, 'latin1');
  out[4] = 0; // stream structure version
  out[5] = page.flags;
  out.writeBigInt64LE(page.granule, 6);
  out.writeUInt32LE(page.serial >>> 0, 14);
  out.writeUInt32LE(page.sequence >>> 0, 18);
  out.writeUInt32LE(0, 22); // the CRC is computed with this field zeroed
  out[26] = lacing.length;
  Buffer.from(lacing).copy(out, 27);
  out.set(data, 27 + lacing.length);
  out.writeUInt32LE(oggCrc32(out), 22);
  return out;
}

/**
 * Pages of one packet that may be larger than a page (a long OpusTags comment): every page but the
 * first carries the continued flag, and only the last one, where the packet ends, has a granule.
 */
export function writePacketPages(
  packet: Uint8Array,
  page: Omit<OggPageInput, 'packets' | 'sequence'> & { firstSequence: number },
): Buffer[] {
  const lacing = lacingOf(packet.length);
  const pages: Buffer[] = [];
  let at = 0;
  for (let i = 0; i < lacing.length; i += 255) {
    const chunk = lacing.slice(i, i + 255);
    const length = chunk.reduce((n, v) => n + v, 0);
    const last = i + 255 >= lacing.length;
    const flags = (i === 0 ? page.flags : (page.flags & ~OGG_FLAG_BOS) | OGG_FLAG_CONTINUED) & 0xff;
    pages.push(
      writeOggPageRaw(
        {
          flags,
          granule: last ? page.granule : -1n,
          serial: page.serial,
          sequence: page.firstSequence + pages.length,
        },
        chunk,
        packet.subarray(at, at + length),
      ),
    );
    at += length;
  }
  return pages;
}

/** Size on the wire of a page holding one packet of `packetLength` bytes. */
export function oggPageSize(packetLength: number): number {
  return 27 + Math.floor(packetLength / 255) + 1 + packetLength;
}

/** A page as read back, with whether its stored CRC matches its bytes. */
export interface OggPage {
  offset: number;
  flags: number;
  granule: bigint;
  serial: number;
  sequence: number;
  crcValid: boolean;
  /** Payload of the page, split by lacing (the last one may continue on the next page). */
  segments: Buffer[];
  /** Whether the last segment run ends a packet on this page. */
  lastPacketComplete: boolean;
}

/** Thrown by {@link parseOggPages} when the bytes are not Ogg. */
export class OggParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OggParseError';
  }
}

/** Read every page of an Ogg stream; throws {@link OggParseError} on anything that is not Ogg. */
export function parseOggPages(bytes: Uint8Array): OggPage[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pages: OggPage[] = [];
  let offset = 0;
  while (offset < buf.length) {
    if (buf.length - offset < 27 || buf.toString('latin1', offset, offset + 4) !== 'OggS') {
      throw new OggParseError(`no Ogg page at byte ${offset}`);
    }
    const count = buf.readUInt8(offset + 26);
    const headerLength = 27 + count;
    if (buf.length - offset < headerLength) {
      throw new OggParseError(`truncated page header at byte ${offset}`);
    }
    const lacing = [...buf.subarray(offset + 27, offset + headerLength)];
    const dataLength = lacing.reduce((n, v) => n + v, 0);
    const end = offset + headerLength + dataLength;
    if (end > buf.length) throw new OggParseError(`truncated page at byte ${offset}`);
    const raw = Buffer.from(buf.subarray(offset, end));
    const stored = raw.readUInt32LE(22);
    raw.writeUInt32LE(0, 22);
    const segments: Buffer[] = [];
    let at = offset + headerLength;
    let current: Buffer[] = [];
    for (const value of lacing) {
      current.push(buf.subarray(at, at + value));
      at += value;
      if (value < 255) {
        segments.push(Buffer.concat(current));
        current = [];
      }
    }
    if (current.length > 0) segments.push(Buffer.concat(current));
    pages.push({
      offset,
      flags: buf.readUInt8(offset + 5),
      granule: buf.readBigInt64LE(offset + 6),
      serial: buf.readUInt32LE(offset + 14),
      sequence: buf.readUInt32LE(offset + 18),
      crcValid: oggCrc32(raw) === stored,
      segments,
      lastPacketComplete: (lacing.at(-1) ?? 0) < 255,
    });
    offset = end;
  }
  return pages;
}

/** Reassemble the packets of a single-stream Ogg file (continued packets joined). */
export function oggPackets(pages: readonly OggPage[]): Buffer[] {
  const packets: Buffer[] = [];
  let pending: Buffer[] = [];
  for (const page of pages) {
    page.segments.forEach((segment, i) => {
      pending.push(segment);
      const isLast = i === page.segments.length - 1;
      if (!isLast || page.lastPacketComplete) {
        packets.push(Buffer.concat(pending));
        pending = [];
      }
    });
  }
  if (pending.length > 0) packets.push(Buffer.concat(pending));
  return packets;
}
