/**
 * The terminal picture of a transfer, as lines that fit a given width and height: a status line, a total bar,
 * and one bar per blob; when the blobs outnumber the rows, the most active ones and a line for the rest.
 * Pure: the same model, size and clock give the same lines (unit-tested at 40 to 200 columns).
 */
import type { BlobRow, ProgressModel, Totals } from './progress-model.js';
import { displayWidth, formatBytes, formatEta, formatRate, padEnd, plural, truncate } from './format.js';

export interface Glyphs {
  full: string;
  empty: string;
  frames: string[];
}

export const UNICODE_GLYPHS: Glyphs = { full: '█', empty: '░', frames: ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'] };
export const ASCII_GLYPHS: Glyphs = { full: '#', empty: '.', frames: ['|', '/', '-', '\\'] };

export interface LayoutInput {
  model: ProgressModel;
  /** The status line's text, e.g. "pull: resolving demo/app:1.0". */
  status: string;
  /** Terminal columns; every line is at most width - 1 wide, so none ever wraps. */
  width: number;
  /** Lines the picture may take. */
  height: number;
  frame: number;
  glyphs: Glyphs;
}

interface Cells {
  label: string;
  fraction: number;
  amount: string;
  tail1: string;
  tail2: string;
}

const MAX_BAR = 40;

export function layoutProgress(input: LayoutInput): string[] {
  const { model, glyphs } = input;
  const width = Math.max(input.width - 1, 10);
  const height = Math.max(input.height, 1);
  const spinner = glyphs.frames[input.frame % glyphs.frames.length];
  const lines = [truncate(`${spinner} ${input.status}`, width)];
  if (!model.hasRows || height < 2) return lines;

  const totals = model.totals();
  const rows = [...model.rows.values()];
  const room = height - 2; // after the status line and the total
  let shown = rows;
  let more: string | undefined;
  if (rows.length > room) {
    shown = mostActive(rows, Math.max(room - 1, 0));
    if (room >= 1) more = moreLine(rows, shown);
  }
  const withId = width >= 100;
  const total = totalCells(model, totals);
  const cells = [total, ...shown.map((r) => rowCells(model, r, withId))];
  const [first, ...rest] = fitColumns(cells, width, glyphs);
  // The total line always shows bytes, throughput and time left: if the aligned columns dropped them, it is laid
  // out on its own, with a bar only if there is room for one.
  lines.push(first.includes(total.tail1) && first.includes(total.tail2) ? first : compactTotal(total, width, glyphs), ...rest);
  if (more) lines.push(truncate(more, width));
  return lines;
}

function compactTotal(c: Cells, width: number, glyphs: Glyphs): string {
  const text = [c.amount, c.tail1, c.tail2].filter(Boolean).join(' ');
  const barW = Math.min(MAX_BAR, width - displayWidth(c.label) - displayWidth(text) - 2);
  if (barW < 6) {
    // Too narrow for a bar: drop it, then the word "total", before cutting anything off the numbers.
    const full = `${c.label} ${text}`;
    return truncate(displayWidth(full) <= width ? full : `${c.label.replace(/^total /, '')} ${text}`, width);
  }
  const filled = Math.round(Math.min(Math.max(c.fraction, 0), 1) * barW);
  return `${c.label} ${glyphs.full.repeat(filled)}${glyphs.empty.repeat(barW - filled)} ${text}`;
}

function totalCells(model: ProgressModel, t: Totals): Cells {
  const moving = t.bytesDone < t.bytesTotal;
  return {
    label: `total ${t.finished}/${t.count}`,
    fraction: t.bytesTotal > 0 ? t.bytesDone / t.bytesTotal : t.finished / Math.max(t.count, 1),
    amount: pair(t.bytesDone, t.bytesTotal),
    tail1: moving ? formatRate(t.rate) : 'done',
    // No time left until 1% has moved: the first chunk's pace says little about the rest.
    tail2: moving && Number.isFinite(t.eta) && t.bytesDone >= t.bytesTotal / 100 ? `ETA ${formatEta(t.eta)}` : '',
  };
}

function rowCells(model: ProgressModel, r: BlobRow, withId: boolean): Cells {
  const label = withId ? `${r.id} ${r.label}` : r.label;
  const fraction = r.size > 0 ? r.bytes / r.size : 1;
  switch (r.state) {
    case 'active': {
      const rate = model.rateOf(r);
      if (rate === 0) return { label, fraction, amount: pair(r.bytes, r.size), tail1: model.now() - r.activeAt > 2000 ? 'stalled' : 'starting', tail2: '' };
      return { label, fraction, amount: pair(r.bytes, r.size), tail1: formatRate(rate), tail2: `ETA ${formatEta((r.size - r.bytes) / rate)}` };
    }
    case 'retrying':
      return { label, fraction, amount: pair(r.bytes, r.size), tail1: 'retrying', tail2: '' };
    case 'waiting':
      return { label, fraction: 0, amount: formatBytes(r.size), tail1: 'waiting', tail2: '' };
    default:
      return { label, fraction: 1, amount: formatBytes(r.size), tail1: r.state, tail2: '' };
  }
}

/** `1.2/2.0 MiB`: both in the unit of the total. */
function pair(done: number, total: number): string {
  const whole = formatBytes(total);
  const [, unit] = whole.split(' ');
  const scale = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 }[unit as 'B'] ?? 1;
  const part = scale === 1 ? String(Math.round(done)) : (done / scale).toFixed(1);
  return `${part}/${whole}`;
}

/**
 * Lays the cells out in aligned columns, dropping what does not fit in this order: the ETA, the rate or status,
 * then narrowing the label. The bar takes what is left, at least 6 columns.
 */
function fitColumns(cells: Cells[], width: number, glyphs: Glyphs): string[] {
  const w = (pick: (c: Cells) => string) => Math.max(...cells.map((c) => displayWidth(pick(c))));
  let labelW = w((c) => c.label);
  const amountW = w((c) => c.amount);
  const t1W = w((c) => c.tail1);
  const t2W = w((c) => c.tail2);
  const gap = width >= 70 ? 2 : 1;
  const plans: [boolean, boolean][] = [[true, true], [true, false], [false, false]];
  let plan = plans[plans.length - 1];
  let barW = 0;
  for (const p of plans) {
    const fixed = labelW + 1 + gap + amountW + (p[0] ? gap + t1W : 0) + (p[1] && t2W ? gap + t2W : 0);
    if (width - fixed >= 10) {
      plan = p;
      barW = Math.min(MAX_BAR, width - fixed);
      break;
    }
  }
  if (barW === 0) {
    // Even label, bar and amount do not fit: narrow the label to leave a short bar.
    barW = Math.max(6, Math.min(MAX_BAR, width - (1 + gap + amountW) - 8));
    labelW = Math.max(4, width - barW - 1 - gap - amountW);
  }
  return cells.map((c) => {
    const filled = Math.round(Math.min(Math.max(c.fraction, 0), 1) * barW);
    let line = `${padEnd(truncate(c.label, labelW), labelW)} ${glyphs.full.repeat(filled)}${glyphs.empty.repeat(barW - filled)}${' '.repeat(gap)}${padEnd(c.amount, amountW)}`;
    if (plan[0] && c.tail1) line += `${' '.repeat(gap)}${padEnd(c.tail1, t1W)}`;
    if (plan[1] && c.tail2) line += `${' '.repeat(gap)}${c.tail2}`;
    return truncate(line.replace(/ +$/, ''), width);
  });
}

/** The `n` rows to show: moving ones first (the most recently active), then the most recently finished. */
function mostActive(rows: BlobRow[], n: number): BlobRow[] {
  if (n <= 0) return [];
  const moving = rows.filter((r) => r.state === 'active' || r.state === 'retrying').sort((a, b) => b.activeAt - a.activeAt);
  const finished = rows.filter((r) => r.finishedAt !== undefined).sort((a, b) => b.finishedAt! - a.finishedAt!);
  const waiting = rows.filter((r) => r.state === 'waiting');
  const chosen = new Set([...moving, ...finished, ...waiting].slice(0, n));
  return rows.filter((r) => chosen.has(r)); // in their own order, so lines do not jump around
}

function moreLine(rows: BlobRow[], shown: BlobRow[]): string {
  const hidden = rows.filter((r) => !shown.includes(r));
  const count = (pred: (r: BlobRow) => boolean) => hidden.filter(pred).length;
  const parts = [
    [count((r) => r.state === 'active' || r.state === 'retrying'), 'moving'],
    [count((r) => r.state === 'done'), 'done'],
    [count((r) => r.state === 'cached'), 'cached'],
    [count((r) => r.state === 'exists'), 'already there'],
    [count((r) => r.state === 'waiting'), 'waiting'],
  ].filter(([n]) => (n as number) > 0).map(([n, what]) => `${n} ${what}`);
  return `… ${plural(hidden.length, 'more blob')}${parts.length ? `: ${parts.join(', ')}` : ''}`;
}
