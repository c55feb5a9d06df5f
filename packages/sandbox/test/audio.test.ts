import { describe, expect, it } from 'vitest';
import { buildMp3, looksLikeMp3, readId3Tags } from '../src/audio/mp3.ts';
import { oggCrc32, oggPackets, OggParseError, parseOggPages } from '../src/audio/ogg.ts';
import {
  buildOpusVoice,
  opusVoiceOfSize,
  paddedOpusPacket,
  readOpusInfo,
  TRANSCRIPT_TAG,
} from '../src/audio/opus.ts';

describe('oggCrc32', () => {
  it('should compute the Ogg CRC (poly 0x04C11DB7, init 0, no reflection) check value', () => {
    expect(oggCrc32(Buffer.from('123456789'))).toBe(0x89a1897f);
  });
});

describe('buildOpusVoice', () => {
  it('should produce Ogg pages with valid CRCs, OpusHead then OpusTags, BOS first and EOS last', () => {
    const bytes = buildOpusVoice({ durationMs: 2500, tags: { [TRANSCRIPT_TAG]: 'turn on the lights' } });
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('OggS');
    const pages = parseOggPages(bytes);
    expect(pages.every(p => p.crcValid)).toBe(true);
    expect(pages[0]?.flags).toBe(0x02);
    expect(pages.at(-1)?.flags).toBe(0x04);
    expect(pages.map(p => p.sequence)).toEqual(pages.map((_, i) => i));
    const packets = oggPackets(pages);
    expect(packets[0]?.subarray(0, 8).toString('latin1')).toBe('OpusHead');
    expect(packets[1]?.subarray(0, 8).toString('latin1')).toBe('OpusTags');
    const info = readOpusInfo(bytes);
    expect(info.tags[TRANSCRIPT_TAG]).toBe('turn on the lights');
    expect(info.durationSecs).toBeGreaterThan(2.4);
    expect(info.durationSecs).toBeLessThan(2.6);
  });

  it('should carry a tag larger than one page across continued pages', () => {
    const long = 'word '.repeat(30_000);
    const bytes = buildOpusVoice({ tags: { [TRANSCRIPT_TAG]: long } });
    const pages = parseOggPages(bytes);
    expect(pages.every(p => p.crcValid)).toBe(true);
    expect(pages.some(p => (p.flags & 0x01) === 0x01)).toBe(true);
    expect(readOpusInfo(bytes).tags[TRANSCRIPT_TAG]).toBe(long);
  });
});

describe('opusVoiceOfSize', () => {
  it('should produce exactly the requested size with valid pages for sizes around page boundaries', () => {
    const natural = buildOpusVoice({ durationMs: 3000 }).length;
    for (const size of [
      natural + 33,
      natural + 300,
      natural + 65_000,
      natural + 65_307,
      natural + 65_340,
      200_000,
      1_000_003,
    ]) {
      const bytes = Buffer.concat([...opusVoiceOfSize(size, { durationMs: 3000 })]);
      expect(bytes.length, `size ${size}`).toBe(size);
      const pages = parseOggPages(bytes);
      expect(pages.every(p => p.crcValid)).toBe(true);
      expect(pages.at(-1)?.flags).toBe(0x04);
    }
  });

  it('should cut the note short below its natural size (invalid audio on purpose)', () => {
    const bytes = Buffer.concat([...opusVoiceOfSize(100, { durationMs: 3000 })]);
    expect(bytes.length).toBe(100);
    expect(() => parseOggPages(bytes)).toThrow(OggParseError);
  });
});

describe('paddedOpusPacket', () => {
  it('should encode the padding length so the packet is exactly the requested size', () => {
    for (const length of [5, 6, 259, 260, 261, 1000, 65_024]) {
      const packet = paddedOpusPacket(length);
      expect(packet.length).toBe(length);
      expect(packet[0]).toBe(0xfb);
      // Decode the padding length as a decoder does: 255 adds 254 and continues.
      let at = 2;
      let padding = 0;
      for (;;) {
        const v = packet[at++]!;
        padding += v === 255 ? 254 : v;
        if (v !== 255) break;
      }
      expect(at + 2 + padding).toBe(length);
    }
  });

  it('should refuse a length below 5', () => {
    expect(() => paddedOpusPacket(4)).toThrow(RangeError);
  });
});

describe('parseOggPages', () => {
  it('should reject bytes that are not Ogg', () => {
    expect(() => parseOggPages(Buffer.from('not an ogg file at all, just words'))).toThrow(OggParseError);
  });

  it('should flag a page whose CRC does not match', () => {
    const bytes = buildOpusVoice();
    bytes[40] = bytes[40]! ^ 0xff;
    expect(parseOggPages(bytes).some(p => !p.crcValid)).toBe(true);
  });
});

describe('buildMp3', () => {
  it('should start with ID3, carry TXXX tags and an MPEG frame sync', () => {
    const bytes = buildMp3({ tags: { [TRANSCRIPT_TAG]: 'héllo' } });
    expect(bytes.subarray(0, 3).toString('latin1')).toBe('ID3');
    expect(looksLikeMp3(bytes)).toBe(true);
    expect(readId3Tags(bytes)[TRANSCRIPT_TAG]).toBe('héllo');
  });

  it('should not mistake random bytes for MP3', () => {
    expect(looksLikeMp3(Buffer.from('hello world'))).toBe(false);
    expect(readId3Tags(Buffer.from('hello world'))).toEqual({});
  });
});
