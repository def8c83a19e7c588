/**
 * The output edge's one defence against text that came from a registry or an image: repository names, tags,
 * platform fields, annotations, server error messages. Any of them may carry terminal control sequences (retitle
 * the window, clear the screen, move the cursor to fake output), so every human-readable line ecrx prints passes
 * through `sanitize`, and every JSON document through `toJsonLine`.
 */

/**
 * C0 controls but tab and newline, DEL, C1 controls (U+0080-U+009F: 8-bit CSI, OSC, ...), the line and paragraph
 * separators, and the bidirectional overrides and isolates that can make text display in another order than it
 * reads ("Trojan source").
 */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** The same, plus tab and newline: for text that must stay on one line (a bar label, a table cell). */
const UNSAFE_INLINE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  if (c === '\t') return '\\t';
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Text made safe for a terminal: control characters become visible escapes (ESC is shown as `\x1b`). */
export function sanitize(text: string, opts: { inline?: boolean } = {}): string {
  return text.replace(opts.inline ? UNSAFE_INLINE : UNSAFE, escapeChar);
}

/** JSON.stringify escapes C0 controls; this also escapes DEL, C1 controls and bidi controls, still as valid JSON. */
const JSON_EXTRA = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function toJsonLine(value: unknown): string {
  return JSON.stringify(value).replace(JSON_EXTRA, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
