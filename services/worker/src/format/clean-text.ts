// ANSI CSI sequences (colours, cursor moves) that cursor-runner's terminal output carries.
// eslint-disable-next-line no-control-regex -- matching the ESC control character is the point
const ANSI_CSI = /\u001b\[[?0-9;]*[a-zA-Z]/g;

/**
 * The seed's `clean()` (seed-contract §1.6): strip ANSI escape sequences, normalise CRLF to LF and
 * trim. `null`/`undefined`/blank give `''`.
 */
export function cleanText(text: string | null | undefined): string {
  if (typeof text !== 'string') return '';
  return text.replace(ANSI_CSI, '').replaceAll('\r\n', '\n').trim();
}
