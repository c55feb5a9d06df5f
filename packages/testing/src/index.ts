export { freePort } from './free-port.ts';
export { waitFor, type WaitForOptions } from './wait-for.ts';
export { randomName } from './random-name.ts';
export { RedisServer, type RedisServerOptions } from './redis-server.ts';
export { startServiceProcess, type ServiceProcess, type ServiceProcessOptions } from './service-process.ts';
export { OtlpReceiver, type ReceivedSpan } from './otlp-receiver.ts';
