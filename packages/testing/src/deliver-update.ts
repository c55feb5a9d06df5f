/**
 * Telegram's side of one update: POST it to the webhook until it is answered 200, as Telegram keeps an
 * update and sends it again after any other answer or a cut connection. Any status but 200 and 503
 * (the gateway's "not durable yet") throws: the test has found a bug.
 */
export async function deliverUntilAccepted(opts: {
  /** The webhook URL, e.g. `http://127.0.0.1:3000/telegram/webhook`. */
  url: string;
  /** The bot's webhook secret (`X-Telegram-Bot-Api-Secret-Token`). */
  secret: string;
  update: unknown;
  /** Pause before sending again. @defaultValue 100 */
  retryMs?: number;
}): Promise<void> {
  const body = JSON.stringify(opts.update);
  for (;;) {
    let status: number | undefined;
    try {
      const res = await fetch(opts.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': opts.secret },
        body,
      });
      await res.arrayBuffer();
      status = res.status;
    } catch {
      // The connection was cut: Telegram sends again.
    }
    if (status === 200) return;
    if (status !== undefined && status !== 503) {
      throw new Error(`the webhook answered ${status}, not 200 or 503`);
    }
    await new Promise(resolve => setTimeout(resolve, opts.retryMs ?? 100));
  }
}
