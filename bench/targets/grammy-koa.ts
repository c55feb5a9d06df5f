// Anchor (b): grammY's own Koa webhook, doing nothing with the update. `botInfo` is given so the bot
// never calls getMe; the handler is a no-op, so this measures framework + Koa + JSON parsing only
// (grammY acknowledges after its handlers run and stores nothing). Run as a child process.
import type { Context as KoaContext, Next } from 'koa';
import Koa from 'koa';
import { Bot, webhookCallback } from 'grammy';

const port = Number(process.env.PORT ?? 0);
const token = process.env.BOT_TOKEN ?? '';
const secretToken = process.env.WEBHOOK_SECRET ?? '';
const LIMIT = 1_048_576;

/**
 * grammY's koa adapter reads `ctx.request.body`, so a body parser must run first. No koa body
 * parser is installed in this repo; this one does what @koa/bodyparser's JSON path does (read up to
 * a limit, JSON.parse) with less work, so if anything it flatters grammY.
 */
function jsonBody() {
  return async function jsonBody(ctx: KoaContext, next: Next): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > LIMIT) ctx.throw(413);
      chunks.push(chunk);
    }
    try {
      (ctx.request as { body?: unknown }).body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      ctx.throw(400);
    }
    await next();
  };
}

const bot = new Bot(token, {
  botInfo: {
    id: Number(token.split(':')[0]) || 1,
    is_bot: true,
    first_name: 'Bench',
    username: 'bench_bot',
    can_join_groups: true,
    can_read_all_group_messages: false,
    supports_inline_queries: false,
    can_connect_to_business: false,
    has_main_web_app: false,
    has_topics_enabled: false,
    allows_users_to_create_topics: false,
    can_manage_bots: false,
    supports_join_request_queries: false,
  },
});
bot.on('message', () => undefined);

const app = new Koa();
app.use(jsonBody());
app.use(webhookCallback(bot, 'koa', { secretToken }));

const server = app.listen(port, '127.0.0.1', () => {
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  process.stdout.write(`${JSON.stringify({ level: 30, msg: `grammY koa listening on ${bound}` })}\n`);
});
server.keepAliveTimeout = 65_000;

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
