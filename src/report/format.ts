/** Human units and terminal text layout: sizes, rates, durations, plurals, widths and word wrapping. */

/** Bytes in binary units: `512 B`, `1.2 KiB`, `12.3 MiB`, `1.2 GiB`. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '?';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = Math.max(n, 0);
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  // 1023.95 KiB would print as "1024.0 KiB": show it as the next unit up instead.
  if (i > 0 && v >= 1023.95 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

export const formatRate = (bytesPerSecond: number) => `${formatBytes(bytesPerSecond)}/s`;

export { shortDigest } from '../core/digest.js';

/** A run time: `850ms`, `2.5s`, `3m05s`, `1h02m`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const whole = Math.round(s);
  if (whole < 3600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(whole / 3600)}h${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')}m`;
}

/** Time left, short: `4s`, `2m10s`, `1h05m`; `?` when unknown. */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  return seconds < 1 ? '0s' : formatDuration(Math.round(seconds) * 1000).replace(/\.0s$/, 's');
}

/** `1 layer`, `2 layers`, `0 blobs`. */
export const plural = (n: number, word: string, many = `${word}s`) => `${n} ${n === 1 ? word : many}`;

/** How long ago, the way docker prints CREATED: `12 seconds ago`, `3 days ago`. */
export function formatAge(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (!Number.isFinite(s)) return '';
  const steps: [number, string][] = [
    [60, 'second'],
    [60, 'minute'],
    [24, 'hour'],
    [7, 'day'],
    [52, 'week'],
  ];
  let v = s;
  for (const [size, unit] of steps) {
    if (v < size) return `${plural(v, unit)} ago`;
    v = Math.floor(v / size);
  }
  return `${plural(v, 'year')} ago`;
}

/** Columns a string takes in a terminal: East Asian wide and emoji characters take two, combining marks none. */
export function displayWidth(text: string): number {
  let w = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || (c >= 0x7f && c < 0xa0)) continue;
    if ((c >= 0x300 && c <= 0x36f) || (c >= 0x200b && c <= 0x200f) || c === 0xfe0f) continue;
    w += isWide(c) ? 2 : 1;
  }
  return w;
}

function isWide(c: number): boolean {
  return (
    (c >= 0x1100 && c <= 0x115f) ||
    (c >= 0x2e80 && c <= 0xa4cf && c !== 0x303f) ||
    (c >= 0xac00 && c <= 0xd7a3) ||
    (c >= 0xf900 && c <= 0xfaff) ||
    (c >= 0xfe30 && c <= 0xfe4f) ||
    (c >= 0xff00 && c <= 0xff60) ||
    (c >= 0xffe0 && c <= 0xffe6) ||
    (c >= 0x1f300 && c <= 0x1f64f) ||
    (c >= 0x1f900 && c <= 0x1f9ff) ||
    (c >= 0x20000 && c <= 0x3fffd)
  );
}

/** Cuts text to at most `width` columns, ending in `…` when something was cut. */
export function truncate(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  if (width <= 0) return '';
  let out = '';
  let w = 0;
  for (const ch of text) {
    const cw = displayWidth(ch);
    if (w + cw > width - 1) break;
    out += ch;
    w += cw;
  }
  return `${out}…`;
}

/** Pads to `width` columns (display width, not string length). */
export const padEnd = (text: string, width: number) => text + ' '.repeat(Math.max(0, width - displayWidth(text)));
export const padStart = (text: string, width: number) => ' '.repeat(Math.max(0, width - displayWidth(text))) + text;

/**
 * Wraps text to `width` columns at spaces, keeping its line breaks; following lines get `indent`. A word longer than
 * a line is broken after a `/`, `.`, `,`, `|`, `-` or `:` where it can be, and only as a last resort mid-word.
 */
export function wrapWords(text: string, width: number, indent = ''): string {
  if (width < 10) return text;
  const out: string[] = [];
  // A size stays with its unit ("12.0 MiB"): joined by a stand-in that is never a break, restored at the end.
  const glued = text.replace(/(\d) (B|KiB|MiB|GiB|TiB)\b/g, `$1${GLUE}$2`);
  for (const raw of glued.split('\n')) {
    const lead = /^\s*/.exec(raw)![0];
    const words = raw
      .slice(lead.length)
      .split(/ +/)
      .filter((w) => w.length > 0);
    let line = lead;
    let fresh = true;
    const room = () => width - displayWidth(line);
    const flush = () => {
      out.push(line.replace(/ +$/, ''));
      line = indent + lead;
      fresh = true;
    };
    for (let word of words) {
      const sep = fresh ? '' : ' ';
      if (displayWidth(sep + word) <= room()) {
        line += sep + word;
        fresh = false;
        continue;
      }
      if (!fresh) flush();
      while (displayWidth(word) > room()) {
        const [head, tail] = breakWord(word, room());
        line += head;
        flush();
        word = tail;
      }
      line += word;
      fresh = false;
    }
    out.push(line.replace(/ +$/, ''));
  }
  return out.join('\n').replaceAll(GLUE, ' ');
}

/** A private-use character: it cannot occur in sanitized text's words, and takes one column like the space. */
const GLUE = '\ue000';

/** Splits a too-long word into a head that fits `room` columns, preferring a break after punctuation. */
function breakWord(word: string, room: number): [string, string] {
  const chars = [...word];
  let fit = 0;
  let w = 0;
  while (fit < chars.length && w + displayWidth(chars[fit]) <= room) w += displayWidth(chars[fit++]);
  fit = Math.max(fit, 1);
  for (let i = fit; i > Math.floor(fit / 2); i--) {
    if ('/.,|-:'.includes(chars[i - 1])) return [chars.slice(0, i).join(''), chars.slice(i).join('')];
  }
  return [chars.slice(0, fit).join(''), chars.slice(fit).join('')];
}
