export { startSandbox } from './sandbox.ts';
export { InvalidControlError } from './control/validate.ts';
export { buildOpusVoice, readOpusInfo } from './audio/opus.ts';
export { buildMp3 } from './audio/mp3.ts';
export { DEFAULT_TRANSCRIPT } from './elevenlabs/audio-analysis.ts';
export {
  type Sandbox,
  type SandboxCall,
  type FaultRule,
  type FileRegistration,
  type CallFilter,
  type UploadedFileInfo,
} from './types.ts';
