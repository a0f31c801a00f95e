/**
 * Text from outside (a flag, a bundle's manifest, an os-release file, a directory name) shown in
 * a message. A hostile value must not reach the terminal raw, nor flood it: a 10,000-character
 * `--kernel` was echoed whole, and an ESC byte in a manifest field would have been written to
 * the terminal as an escape sequence (cursor moves, colour, OSC 8 links, title changes).
 */

/** How much of an untrusted value a message shows by default, in characters of the shown form. */
export const SHOWN_CHARS = 80;

/**
 * Control characters (C0, DEL, C1) and the invisible format characters that reorder or hide text
 * (U+200B..U+200F, U+202A..U+202E bidi embeddings and overrides, U+2066..U+2069 isolates, the
 * BOM, soft hyphen, ...): Unicode categories Cc and Cf, plus the line and paragraph separators.
 */
const HIDDEN = /[\p{Cc}\p{Cf}\u2028\u2029]/u;

/**
 * `text` made safe to print: every control or format character escaped as it would be written in
 * JavaScript (`\x1b`, `\n`, `\u202e`), a backslash doubled so that an escape in the output always
 * means one, and at most `max` characters kept, `…` marking the cut. An escape is never cut in
 * half.
 */
export function showUntrusted(text: string, max: number = SHOWN_CHARS): string {
  let out = '';
  let shown = 0;
  for (const ch of text) {
    const piece = escapeChar(ch);
    if (shown + piece.length > max) return `${out}…`;
    out += piece;
    shown += piece.length;
  }
  return out;
}

/** True when `text` holds a control or format character (see showUntrusted). */
export function hasHiddenCharacters(text: string): boolean {
  return HIDDEN.test(text);
}

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\\': '\\\\' };

function escapeChar(ch: string): string {
  const named = NAMED[ch];
  if (named !== undefined) return named;
  if (!HIDDEN.test(ch)) return ch;
  const cp = ch.codePointAt(0) as number;
  if (cp <= 0xff) return `\\x${cp.toString(16).padStart(2, '0')}`;
  if (cp <= 0xffff) return `\\u${cp.toString(16).padStart(4, '0')}`;
  return `\\u{${cp.toString(16)}}`;
}
