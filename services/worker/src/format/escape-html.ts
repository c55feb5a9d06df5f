/**
 * Escape text for Telegram's HTML parse mode: `&`, `<` and `>` are the only characters it requires
 * escaped (external-apis §2.3). `&` goes first so the other replacements are not escaped twice.
 */
export function escapeHtml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}
