// `make demo`: drive a running `make dev` stack like a Telegram user would. Posts a text message and
// a voice note to the gateway's webhook, waits until the bot has answered both (polling the
// sandbox's record of what its Telegram stand-in received), and prints the chat.
// Settings come from the environment with the `make dev` defaults: GATEWAY_URL, SANDBOX_URL,
// TELEGRAM_WEBHOOK_SECRET, DEMO_TIMEOUT_MS.

import { DEV_GATEWAY_PORT, DEV_HOST, DEV_SANDBOX_PORT, DEV_WEBHOOK_SECRET } from './dev-defaults.ts';

interface RecordedCall {
  seq: number;
  service: string;
  method: string;
  chatId?: number;
  body: Record<string, unknown>;
  status: number;
}

const env = process.env;
const gatewayUrl = (env.GATEWAY_URL ?? `http://${DEV_HOST}:${DEV_GATEWAY_PORT}`).replace(/\/+$/, '');
const sandboxUrl = (env.SANDBOX_URL ?? `http://${DEV_HOST}:${DEV_SANDBOX_PORT}`).replace(/\/+$/, '');
const webhookSecret = env.TELEGRAM_WEBHOOK_SECRET ?? DEV_WEBHOOK_SECRET;
const timeoutMs = Number(env.DEMO_TIMEOUT_MS ?? 30_000);

const out = (line = '') => process.stdout.write(`${line}\n`);

/** Stop with one clear message (and exit code 1). */
function fail(message: string): never {
  process.stderr.write(`make demo: ${message}\n`);
  process.exit(1);
}

async function call(url: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
  } catch {
    const which = url.startsWith(sandboxUrl) ? 'the sandbox' : 'the gateway';
    fail(
      `${which} does not answer at ${new URL(url).origin}. Start the stack first with \`make dev\` (in another terminal), then run \`make demo\` again.`,
    );
  }
}

async function sandbox(path: string, init: RequestInit = {}): Promise<unknown> {
  const res = await call(`${sandboxUrl}${path}`, init);
  if (!res.ok) fail(`the sandbox answered ${res.status} to ${path}: ${(await res.text()).slice(0, 200)}`);
  const text = await res.text();
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

async function postUpdate(update: Record<string, unknown>): Promise<void> {
  const res = await call(`${gatewayUrl}/telegram/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': webhookSecret },
    body: JSON.stringify(update),
  });
  if (res.status === 401) {
    fail('the gateway refused the webhook secret: set TELEGRAM_WEBHOOK_SECRET to the one `make dev` uses');
  }
  if (!res.ok) fail(`the gateway answered ${res.status} to the webhook: ${(await res.text()).slice(0, 200)}`);
}

function describe(c: RecordedCall): string {
  const replyTo =
    c.body.reply_to_message_id === undefined ? '' : ` (reply to #${String(c.body.reply_to_message_id)})`;
  const file = (c.body.voice ?? c.body.audio ?? c.body.document) as
    { filename?: string; size?: number; firstBytesHex?: string } | undefined;
  switch (c.method) {
    case 'sendMessage':
      return `bot → chat${replyTo}:\n${String(c.body.text)
        .split('\n')
        .map(l => `    ${l}`)
        .join('\n')}`;
    case 'sendVoice':
    case 'sendAudio':
    case 'sendDocument':
      return `bot → chat${replyTo}: ${c.method} ${file?.filename ?? ''} (${file?.size ?? '?'} bytes, starts ${file?.firstBytesHex ?? '?'})`;
    case 'getFile':
      return `bot asked Telegram for the voice file (getFile ${String(c.body.file_id)})`;
    case 'downloadFile':
      return 'bot downloaded the voice file';
    default:
      return `bot called ${c.method}`;
  }
}

const health = await call(`${sandboxUrl}/sandbox/health`);
if (!health.ok) {
  fail(`${sandboxUrl} answers, but not as the sandbox (${health.status}); is \`make dev\` running?`);
}
const gatewayHealth = await call(`${gatewayUrl}/health`);
if (!gatewayHealth.ok) {
  fail(`${gatewayUrl}/health answered ${gatewayHealth.status}; is \`make dev\` running?`);
}

const chatId = 900_000_000 + Math.floor(Math.random() * 99_999_999);
const firstUpdate = Date.now();
const user = { id: chatId, is_bot: false, first_name: 'Demo' };
const chat = { id: chatId, type: 'private', first_name: 'Demo' };
const textPrompt = 'List the files in the repository';
const spokenPrompt = 'What does this project do?';
const fileId = `demo-voice-${chatId}`;

await sandbox('/sandbox/files', {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ fileId, transcript: spokenPrompt }),
});

out(`make demo: chat ${chatId} talks to the bot through ${gatewayUrl}`);
out();
out(`user → bot (#1): ${textPrompt}  [update_id ${firstUpdate}]`);
await postUpdate({
  update_id: firstUpdate,
  message: { message_id: 1, date: Math.floor(Date.now() / 1000), from: user, chat, text: textPrompt },
});
out(`user → bot (#2): a voice note saying "${spokenPrompt}"  [update_id ${firstUpdate + 1}]`);
await postUpdate({
  update_id: firstUpdate + 1,
  message: {
    message_id: 2,
    date: Math.floor(Date.now() / 1000),
    from: user,
    chat,
    voice: {
      file_id: fileId,
      file_unique_id: `u-${fileId}`,
      duration: 2,
      mime_type: 'audio/ogg',
      file_size: 4096,
    },
  },
});
out();
out('waiting for the answers (gateway → Redis → worker → cursor-runner → callback → worker → Telegram)...');

const answers = new Set(['sendMessage', 'sendVoice', 'sendAudio', 'sendDocument']);
const deadline = Date.now() + timeoutMs;
let calls: RecordedCall[];
for (;;) {
  // getFile carries no chat id: pick it out by the demo's file id.
  const got = (await sandbox('/sandbox/calls?service=telegram')) as { calls: RecordedCall[] };
  calls = got.calls
    .filter(c => c.chatId === chatId || c.body.file_id === fileId)
    .sort((a, b) => a.seq - b.seq);
  const answered = new Set(
    calls.filter(c => answers.has(c.method) && c.status === 200).map(c => Number(c.body.reply_to_message_id)),
  );
  if (answered.has(1) && answered.has(2)) break;
  if (Date.now() > deadline) {
    for (const c of calls) out(`  ${describe(c)}`);
    fail(
      `no answer to ${answered.has(1) ? 'the voice note' : answered.has(2) ? 'the text' : 'either message'} within ${timeoutMs} ms. ` +
        'Is the worker running (it prints "worker listening")? Check the [worker] lines of `make dev`.',
    );
  }
  await new Promise(resolve => setTimeout(resolve, 200));
}

out();
out("What the sandbox's Telegram received for this chat:");
for (const c of calls) out(`  ${describe(c)}`);
const final = calls.filter(
  c => c.status === 200 && Number(c.body.reply_to_message_id) === 1 && answers.has(c.method),
);
out();
out("cursor-runner's answer in the chat, to the text message:");
out(final.map(c => (c.method === 'sendMessage' ? String(c.body.text) : describe(c))).join('\n'));
