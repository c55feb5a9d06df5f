/**
 * Text-to-speech returned bytes that are neither OGG/Opus nor MP3 (seen: an error page with a 200,
 * a plan that does not offer the format). Fall back to a text reply.
 */
export class UnexpectedAudioFormatError extends Error {
  /** What was asked for. */
  readonly requested: 'ogg_opus' | 'mp3';
  /** The first bytes received, hex (no payload beyond a magic number). */
  readonly magic: string;

  constructor(requested: 'ogg_opus' | 'mp3', magic: string) {
    super(
      `elevenlabs text-to-speech: asked for ${requested}, got bytes starting with ${magic || '(nothing)'}`,
    );
    this.name = 'UnexpectedAudioFormatError';
    this.requested = requested;
    this.magic = magic;
  }
}
