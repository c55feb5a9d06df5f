// The defaults `make dev` starts the stack with and `make demo` expects to find: one place, so the
// two cannot drift apart.
export const DEV_HOST = '127.0.0.1';
export const DEV_GATEWAY_PORT = '3000';
export const DEV_SANDBOX_PORT = '3900';
export const DEV_WEBHOOK_SECRET = 'dev-webhook-secret';
