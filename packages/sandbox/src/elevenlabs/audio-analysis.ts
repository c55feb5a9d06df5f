import { looksLikeMp3, readId3Tags } from '../audio/mp3.ts';
import { readOpusInfo, TRANSCRIPT_TAG } from '../audio/opus.ts';

/** What the stand-in "hears" when a file carries no transcript tag. */
export const DEFAULT_TRANSCRIPT = 'This is a transcription from the sandbox speech to text service.';

/** Audio ElevenLabs would refuse: empty, or not a container it knows. */
export class InvalidAudioError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidAudioError';
  }
}

export interface HeardAudio {
  transcript: string;
  durationSecs: number | undefined;
}

/** Recognise the container and read the sandbox transcript tag from Ogg/Opus or MP3. */
export function hear(bytes: Buffer): HeardAudio {
  if (bytes.length === 0) throw new InvalidAudioError('The uploaded audio file is empty.');
  if (bytes.toString('latin1', 0, 4) === 'OggS') {
    try {
      const info = readOpusInfo(bytes);
      return { transcript: info.tags[TRANSCRIPT_TAG] ?? DEFAULT_TRANSCRIPT, durationSecs: info.durationSecs };
    } catch (err) {
      throw new InvalidAudioError(`The audio file could not be decoded: ${(err as Error).message}.`);
    }
  }
  if (looksLikeMp3(bytes)) {
    return { transcript: readId3Tags(bytes)[TRANSCRIPT_TAG] ?? DEFAULT_TRANSCRIPT, durationSecs: undefined };
  }
  const magic = bytes.toString('latin1', 0, 4);
  const known =
    (magic === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WAVE') ||
    magic === 'fLaC' ||
    bytes.toString('latin1', 4, 8) === 'ftyp' ||
    bytes.subarray(0, 4).equals(Buffer.from([0x1a, 0x45, 0xdf, 0xa3]));
  if (known) return { transcript: DEFAULT_TRANSCRIPT, durationSecs: undefined };
  throw new InvalidAudioError('The audio file could not be decoded: unsupported or corrupted format.');
}

/** ElevenLabs' word list: words and the spacing between them, 0.4 s per word. */
export function wordsOf(transcript: string) {
  const words: { text: string; start: number; end: number; type: 'word' | 'spacing'; logprob: number }[] = [];
  let t = 0;
  transcript
    .split(/\s+/)
    .filter(w => w !== '')
    .forEach((word, i) => {
      if (i > 0) words.push({ text: ' ', start: t, end: t, type: 'spacing', logprob: 0 });
      words.push({ text: word, start: round(t), end: round(t + 0.4), type: 'word', logprob: 0 });
      t += 0.4;
    });
  return words;
}

const round = (n: number): number => Math.round(n * 1000) / 1000;
