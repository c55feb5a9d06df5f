// `make observe`: the whole stack with tracing and metrics on one machine (see observe-stack.ts).
// Prints where everything is; `make demo` against it sends updates whose traces Jaeger then holds.
// Ctrl-C stops everything.
import { startObserveStack, toolsFromEnv } from './observe-stack.ts';

const stack = await startObserveStack(toolsFromEnv(), line => {
  process.stdout.write(`${line}\n`);
});
const stop = () => void stack.stop().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
process.stdout.write(
  [
    '',
    'telegram-receiver observability stack is up:',
    `  gateway     ${stack.gatewayUrl}   (metrics ${stack.gatewayOpsUrl}/metrics)`,
    `  worker      metrics ${stack.workerOpsUrl}/metrics`,
    `  metrics     ${stack.metricsOpsUrl}/queues  (Prometheus: ${stack.metricsOpsUrl}/metrics)`,
    `  sandbox     ${stack.sandboxUrl}`,
    `  prometheus  ${stack.prometheusUrl}`,
    `  jaeger API  ${stack.jaegerUrl}/api/services  (no web UI: it is not in Jaeger's Go module)`,
    `  logs        ${stack.dir}`,
    '',
    'Send a text and a voice update, then find their traces by update_id:',
    `  GATEWAY_URL=${stack.gatewayUrl} SANDBOX_URL=${stack.sandboxUrl} TELEGRAM_WEBHOOK_SECRET=${stack.webhookSecret} make demo`,
    `  curl -sS '${stack.jaegerUrl}/api/traces?service=telegram-receiver-gateway&tags=%7B%22telegram.update_id%22%3A%22<id>%22%7D'`,
    '',
    'observe stack ready',
    '',
  ].join('\n'),
);
