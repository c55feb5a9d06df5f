export * from './telegram-types.ts';
export * from './job-contracts.ts';
export * from './config.ts';
export * from './bots.ts';
export * from './redact.ts';
export * from './logger.ts';
export * from './redis-connection.ts';
export * from './queue-factory.ts';
export { ConfigError, type ConfigIssue } from './errors/config-error.ts';
export { ApiRejectedError } from './errors/api-rejected-error.ts';
export { UpstreamUnreachableError } from './errors/upstream-unreachable-error.ts';
export * from './settings-store.ts';
export { createHttpAgent, HTTP_AGENT_DEFAULTS, type HttpAgentOptions } from './clients/http-agent.ts';
export { classifyCallError, parseRetryAfter } from './clients/classify-error.ts';
export { isRetryable, RETRY_DEFAULTS, type CallKind, type RetryOptions } from './clients/retry-policy.ts';
export {
  TelegramClient,
  TELEGRAM_MAX_DOWNLOAD_BYTES,
  type ChatId,
  type InputFile,
  type ParseMode,
  type TelegramClientOptions,
} from './clients/telegram-client.ts';
export { TelegramClientCache, type TelegramClientCacheOptions } from './clients/telegram-client-cache.ts';
export {
  CursorRunnerClient,
  type CursorRunnerClientOptions,
  type IterateAsyncParams,
} from './clients/cursor-runner-client.ts';
export {
  ElevenLabsClient,
  type ElevenLabsClientOptions,
  type ElevenLabsConcurrency,
  type SpeechFormat,
} from './clients/elevenlabs-client.ts';
export { FileTooLargeError } from './clients/file-too-large-error.ts';
export { TranscriptionEmptyError } from './clients/transcription-empty-error.ts';
export { UnexpectedAudioFormatError } from './clients/unexpected-audio-format-error.ts';
export * from './queue-state-reader.ts';
