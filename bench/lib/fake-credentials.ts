// Fake credentials of every bench run: everything stays on 127.0.0.1 and no real Bot API is called.
// The tests check that none of them appears in a result file.
export const BENCH_BOT_TOKEN = '123456:bench-token-aaaaaaaaaaaaaaaaaaaaaaaa';
export const BENCH_WEBHOOK_SECRET = 'bench-webhook-secret-0123456789';
/** The header Telegram sends with every webhook, carrying {@link BENCH_WEBHOOK_SECRET}. */
export const BENCH_SECRET_HEADER = { 'x-telegram-bot-api-secret-token': BENCH_WEBHOOK_SECRET };
