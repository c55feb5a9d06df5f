/**
 * Speech-to-text answered, but with no words (silence, noise, an unsupported language). Not a
 * fault to retry: reply that the audio could not be transcribed and ask for text instead.
 */
export class TranscriptionEmptyError extends Error {
  constructor() {
    super('elevenlabs speech-to-text returned no text');
    this.name = 'TranscriptionEmptyError';
  }
}
