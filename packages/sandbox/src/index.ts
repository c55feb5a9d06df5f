export { startSandbox } from './sandbox.ts';
export { createSandboxApp } from './app.ts';
export { SandboxState, type ResolvedSandboxOptions } from './sandbox-state.ts';
export { InvalidControlError } from './control/validate.ts';
export {
  buildOpusVoice,
  opusVoiceOfSize,
  readOpusInfo,
  TRANSCRIPT_TAG,
  type OpusVoiceOptions,
  type OpusInfo,
} from './audio/opus.ts';
export { buildMp3 } from './audio/mp3.ts';
export { oggCrc32, parseOggPages, oggPackets, OggParseError, type OggPage } from './audio/ogg.ts';
export { DEFAULT_TRANSCRIPT } from './elevenlabs/audio-analysis.ts';
export {
  SANDBOX_SERVICES,
  type SandboxService,
  type SandboxOptions,
  type Sandbox,
  type SandboxCall,
  type FaultRule,
  type FileRegistration,
  type CallFilter,
  type UploadedFileInfo,
} from './types.ts';
