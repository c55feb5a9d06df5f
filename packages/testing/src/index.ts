export { freePort } from './free-port.ts';
export { waitFor, type WaitForOptions } from './wait-for.ts';
export { randomName } from './random-name.ts';
export { seededRandom } from './seeded-random.ts';
export { RedisServer, type RedisServerOptions } from './redis-server.ts';
export { RedisSentinelSet, type RedisSentinelSetOptions } from './redis-sentinel.ts';
export {
  /** @public the Redis Cluster fixture for the high-availability work */
  RedisClusterSet,
} from './redis-cluster.ts';
export { startServiceProcess, type ServiceProcess, type ServiceProcessOptions } from './service-process.ts';
export { OtlpReceiver, type ReceivedSpan } from './otlp-receiver.ts';
export { laneInvariantViolations, laneJobIds } from './lane-state.ts';
export { settledMemory, type SettledMemory } from './settled-memory.ts';
export { parsePrometheusText, type MetricSample } from './prometheus-text.ts';
