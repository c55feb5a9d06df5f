/** Options of {@link updateBodyFactory}. */
export interface UpdateBodyOptions {
  /** First update_id; request `i` carries `firstUpdateId + i`, so the gateway's dedup never short-cuts. */
  firstUpdateId: number;
  /** Distinct private chats the messages come from. @defaultValue 10000 */
  chats?: number;
  /** Appended to each text after ` #<i>`, e.g. the sandbox's ` [[delay:MS]]` callback delay. @defaultValue '' */
  promptSuffix?: string;
}

const TEXT =
  'Please look at the failing test in the payments service and explain why the retry budget is exhausted';

// A stride co-prime with `chats` spreads consecutive requests over different chats.
const STRIDE = 7919;

/** The chat request `i` comes from (distinct for every i < chats when chats is co-prime with 7919). */
export function chatOfRequest(i: number, chats: number): number {
  return 100_000_000 + ((i * STRIDE) % chats);
}

/**
 * Bodies of realistic Telegram `message` updates (~400 bytes: full `from` and `chat` objects, a
 * sentence of text), spread over many chats so per-chat lanes behave as in production.
 */
export function updateBodyFactory(opts: UpdateBodyOptions): (i: number) => string {
  const chats = opts.chats ?? 10_000;
  const date = Math.floor(Date.now() / 1000);
  const suffix = JSON.stringify(opts.promptSuffix ?? '').slice(1, -1);
  return (i: number) => {
    const chat = chatOfRequest(i, chats);
    const user = `bench_user_${chat}`;
    return (
      `{"update_id":${opts.firstUpdateId + i},"message":{"message_id":${i + 1},` +
      `"from":{"id":${chat},"is_bot":false,"first_name":"Bench","last_name":"User","username":"${user}","language_code":"en"},` +
      `"chat":{"id":${chat},"first_name":"Bench","last_name":"User","username":"${user}","type":"private"},` +
      `"date":${date},"text":"${TEXT} #${i}${suffix}"}}`
    );
  };
}
