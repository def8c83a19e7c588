/** Human units, widths and wrapping, and the output edge's sanitizer. */
import {
  displayWidth,
  formatBytes,
  formatDuration,
  formatEta,
  formatAge,
  plural,
  truncate,
  wrapWords,
} from '../../src/report/format.js';
import { sanitize, toJsonLine } from '../../src/report/sanitize.js';

test.each([
  [0, '0 B'],
  [1023, '1023 B'],
  [1024, '1.0 KiB'],
  [1048575, '1.0 MiB'],
  [12.3 * 1024 * 1024, '12.3 MiB'],
  [1.2 * 1024 ** 3, '1.2 GiB'],
])('formatBytes(%d) is %s', (n, text) => expect(formatBytes(n)).toBe(text));

test('durations, times left, ages and plurals read as people write them', () => {
  expect(formatDuration(850)).toBe('850ms');
  expect(formatDuration(2500)).toBe('2.5s');
  expect(formatDuration(185_000)).toBe('3m05s');
  expect(formatDuration(3_720_000)).toBe('1h02m');
  expect(formatEta(4.4)).toBe('4s');
  expect(formatEta(130)).toBe('2m10s');
  expect(formatEta(Infinity)).toBe('?');
  expect(formatAge('2026-01-01T00:00:00Z', Date.parse('2026-01-04T01:00:00Z'))).toBe('3 days ago');
  expect(formatAge('2026-01-01T00:00:00Z', Date.parse('2026-01-01T00:00:01Z'))).toBe('1 second ago');
  expect(plural(1, 'layer')).toBe('1 layer');
  expect(plural(2, 'layer')).toBe('2 layers');
  expect(plural(0, 'blob')).toBe('0 blobs');
});

test('widths count wide characters twice and truncate ends in an ellipsis within the width', () => {
  expect(displayWidth('abc')).toBe(3);
  expect(displayWidth('日本')).toBe(4);
  expect(truncate('abcdef', 4)).toBe('abc…');
  expect(displayWidth(truncate('日本語のタグ', 5))).toBeLessThanOrEqual(5);
});

test('wrapWords breaks at spaces, indents continuations, and splits an over-long word after punctuation', () => {
  const text = 'one two three four five six seven eight nine ten';
  const wrapped = wrapWords(text, 20, '  ').split('\n');
  for (const line of wrapped) expect(line.length).toBeLessThanOrEqual(20);
  expect(wrapped.join(' ').replace(/ +/g, ' ')).toBe(text);
  expect(wrapped[1].startsWith('  ')).toBe(true);
  const uri = wrapWords('<account>.dkr.ecr.<region>.amazonaws.com/repo[:tag|@digest]', 30).split('\n');
  for (const line of uri) expect(line.length).toBeLessThanOrEqual(30);
  expect(uri[0]).toMatch(/[./|]$/);
});

test.each([
  ['\u001b]0;title\u0007', '\\x1b]0;title\\x07'],
  ['\u001b[2Jclear', '\\x1b[2Jclear'],
  ['8-bit CSI \u009b31m', '8-bit CSI \\x9b31m'],
  ['bidi \u202eoverride', 'bidi \\u202eoverride'],
  ['over\rwrite', 'over\\rwrite'],
  ['del\u007f', 'del\\x7f'],
  ['tabs\tand\nnewlines stay', 'tabs\tand\nnewlines stay'],
])('sanitize(%j)', (input, shown) => expect(sanitize(input)).toBe(shown));

test('inline sanitizing also escapes newlines and tabs; JSON lines escape C1 and bidi controls and parse back exactly', () => {
  expect(sanitize('a\nb\tc', { inline: true })).toBe('a\\nb\\tc');
  const value = { tag: 'x\u001b[2J\u009b\u202e\u2028y' };
  const line = toJsonLine(value);
  expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u202e]/);
  expect(JSON.parse(line)).toEqual(value);
});
