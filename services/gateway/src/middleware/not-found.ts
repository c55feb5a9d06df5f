import type { Context } from 'koa';

/**
 * The last middleware: reached only when no route answered. A path that exists under another
 * method gets 405 with `Allow`; anything else a JSON 404 (seed-compatible body).
 */
export function notFound() {
  return async function notFound(ctx: Context): Promise<void> {
    const matched = (ctx as { matched?: { methods: string[]; opts?: { end?: boolean } }[] }).matched ?? [];
    const allowed = new Set(matched.flatMap(layer => layer.methods));
    if (allowed.size > 0) {
      ctx.status = 405;
      ctx.set('Allow', [...allowed].join(', '));
      ctx.body = { ok: false, error: 'Method Not Allowed' };
      return;
    }
    ctx.status = 404;
    ctx.body = {
      ok: false,
      say: "Sorry, I couldn't find that resource.",
      result: { error: 'Not Found' },
    };
  };
}
