// Where to send and with which secrets: from the environment (the helm test pod sets them).
const env = __ENV as Record<string, string | undefined>;

/** The gateway's public URL. @defaultValue http://127.0.0.1:3000 (`make dev`) */
export const BASE_URL = (env.BASE_URL ?? 'http://127.0.0.1:3000').replace(/\/$/, '');
/** The sandbox (Telegram / cursor-runner stand-in). @defaultValue http://127.0.0.1:3900 */
export const SANDBOX_URL = (env.SANDBOX_URL ?? 'http://127.0.0.1:3900').replace(/\/$/, '');
/** X-Telegram-Bot-Api-Secret-Token of the bot. @defaultValue make dev's */
export const TELEGRAM_SECRET = env.TELEGRAM_WEBHOOK_SECRET ?? 'dev-webhook-secret';
/** The cursor-runner callback secret (WEBHOOK_SECRET). @defaultValue make dev's */
export const CALLBACK_SECRET = env.WEBHOOK_SECRET ?? 'dev-callback-secret';
