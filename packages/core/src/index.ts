// The public API of @telegram-receiver/core: every name is listed, so an export is a decision and
// knip can tell when one is no longer used.
export type {
  TelegramAudio,
  TelegramCallbackQuery,
  TelegramChat,
  TelegramDocument,
  TelegramFile,
  TelegramMessage,
  TelegramResponse,
  TelegramResponseParameters,
  TelegramUpdate,
  TelegramUser,
  TelegramVoice,
  TelegramWebhookInfo,
} from './telegram-types.ts';
export {
  ALL_QUEUE_NAMES,
  JOB_NAMES,
  QUEUE_NAMES,
  SIDE_QUEUE_NAMES,
  UPDATE_DEDUP_TTL_MS,
  callbackJobId,
  chatLaneOf,
  isJobQueue,
  /** @public the lane mechanism keeps it, the metrics service reads it */
  laneIndexKey,
  /** @public the lane mechanism keeps it, the metrics service reads it */
  parkedCountKey,
  updateJobId,
  type CallbackJobData,
  type CursorRunnerResult,
  type AnyQueueName,
  type JobName,
  type QueueName,
  type SideQueueName,
  type UpdateJobData,
} from './job-contracts.ts';
export {
  BOT_NAME_PATTERN,
  commonEnv,
  describeEnv,
  envHttpUrl,
  envOptionalSecret,
  envSecretList,
  envPort,
  envPositiveInt,
  loadConfig,
  type CommonConfig,
  type CommonEnv,
} from './config.ts';
export {
  BotRegistry,
  loadBots,
  type BotConfig,
  type BotLookup,
  type BotSettings,
  type RetiringBot,
} from './bots.ts';
export {
  LiveBots,
  watchBots,
  type BotsChange,
  type BotsReloadSettings,
  type LiveBotsOptions,
  type ReloadOutcome,
} from './live-bots.ts';
export { SecretRedactor } from './redact.ts';
export { createLogger, type Logger, type LoggerOptions } from './logger.ts';
export {
  closeConnection,
  createProducerConnection,
  createWorkerConnection,
  redisEndpointOf,
  type RedisClient,
  type RedisEndpoint,
  type ConnectionOptions,
} from './redis-connection.ts';
export {
  closeQueues,
  createQueues,
  type CallbacksQueue,
  type Queues,
  type UpdatesQueue,
} from './queue-factory.ts';
export {
  DEFAULT_JOB_OPTIONS,
  encodeJobOptions,
  queueRefs,
  type DeadLetterRetention,
  type QueueRef,
  type QueueRefs,
} from './queue-refs.ts';
export {
  laneListKey,
  laneMember,
  parseLaneEntry,
  /** @public the lane of an item with no chat, for readers of the lane index */
  soloMember,
  type LaneEntry,
} from './lanes/lane-keys.ts';
export { LANE_LUA } from './lanes/lane-lua.ts';
export { LaneWriter, type LaneItem } from './lanes/lane-writer.ts';
export {
  callbackStateKey,
  legacyCallbackStateKey,
  parseCallbackState,
  type CallbackState,
} from './callback-state-record.ts';
export {
  InvalidSettingsError,
  SettingsStore,
  type Settings,
  type SettingsPatch,
  type SettingsStoreOptions,
} from './settings-store.ts';
export {
  runService,
  type RunServiceOptions,
  type ServiceContext,
  type ServiceDefinition,
  type StartedService,
} from './service/run-service.ts';
export {
  annotateActiveSpan,
  bullmqTelemetry,
  hashChatId,
  inProducerSpan,
  inServerSpan,
  inSpan,
  inTraceOf,
  linkActiveSpan,
  recordPastSpan,
  recordingSpan,
  traceCarrier,
} from './tracing/trace-context.ts';
// The SDK itself (startTracing) is not here: it loads only when tracing is on (`@telegram-receiver/core/start-tracing`).
export { stopTracing } from './tracing/tracing-state.ts';
export { traceRequests } from './tracing/trace-requests.ts';
export {
  METRIC_PREFIX,
  activeExemplar,
  createMetricsRegistry,
  observeWithExemplar,
  type MetricsRegistry,
} from './metrics/metrics-registry.ts';
export { registerClientMetrics } from './metrics/client-metrics.ts';
export { OpsListener, type OpsListenerOptions } from './service/ops-listener.ts';
export { listen } from './service/listen.ts';
export {
  readinessResponse,
  type HealthBody,
  type NotReadyReason,
  type Readiness,
  type ReadinessCheck,
} from './service/readiness.ts';
export { ConfigError, type ConfigIssue } from './errors/config-error.ts';
export { ApiRejectedError } from './errors/api-rejected-error.ts';
export { UpstreamUnreachableError } from './errors/upstream-unreachable-error.ts';
export { createHttpAgent, type HttpAgentOptions } from './clients/http-agent.ts';
export { classifyCallError, parseRetryAfter } from './clients/classify-error.ts';
export { isRetryable, type CallKind, type RetryOptions } from './clients/retry-policy.ts';
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
export { QueueStateReader, type QueueState, type QueueStateReaderOptions } from './queue-state-reader.ts';
export { QueueStatePoller, type QueueSample, type QueueStatePollerOptions } from './queue-state-poller.ts';
