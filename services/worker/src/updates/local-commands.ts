import { escapeHtml } from '../format/escape-html.ts';

/** The commands answered by the worker itself and never forwarded to cursor-runner (seed §1.5). */
export type LocalCommand = 'start' | 'help' | 'status';

// Prefix match, case-insensitive, as the seed: `/STATUSxyz` and `/start@MyBot` are local too.
const LOCAL_COMMAND = /^\/(start|help|status)/i;

/** The seed's texts, word for word (seed-contract §1.5). None contains HTML special characters. */
export const HELP_TEXT =
  "Hello! I'm your Virtual Assistant. Send me a message and I'll help you out.\n\n" +
  'Available commands:\n/help - Show this message\n/status - Check my status';
export const STATUS_TEXT = "✅ I'm online and ready to help!";

/** The local command a message starts with (after trimming), or `null`. */
export function localCommandOf(text: string): LocalCommand | null {
  const match = LOCAL_COMMAND.exec(text.trim());
  return match ? ((match[1] as string).toLowerCase() as LocalCommand) : null;
}

/**
 * The seed's reply to a message that was not forwarded (`processLocalMessage`), in Telegram HTML:
 * help for `/start` and `/help`, the status line for `/status`, otherwise the "still learning" echo
 * with the user's text escaped.
 */
export function localCommandReply(text: string): string {
  const command = localCommandOf(text);
  if (command === 'start' || command === 'help') return HELP_TEXT;
  if (command === 'status') return STATUS_TEXT;
  return (
    `I received your message: ${escapeHtml(text.trim())}\n\n` +
    "I'm still learning how to process messages. More features coming soon!"
  );
}
