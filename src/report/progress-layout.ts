/**
 * The terminal picture of a transfer, as lines that fit a given width and height: the status line, a total bar,
 * and one bar per blob; when the blobs outnumber the rows, the most active ones and a line for the rest.
 * This module decides what is shown and how wide each column is; cli-progress renders each bar line: its generic
 * formatter fills the line's template, its bar formatter draws the bar's glyphs and its time formatter the ETA.
 * Pure: the same model, size and status give the same lines (unit-tested at 40 to 200 columns).
 */
import cliProgress, { type Options, type Params } from 'cli-progress';
import type { BlobRow, ProgressModel, Totals } from './progress-model.js';
import { displayWidth, formatBytes, formatRate, padEnd, plural, truncate } from './format.js';

const { Format } = cliProgress;

export interface Glyphs {
  /** The bar's done and to-do cells (cli-progress's complete and incomplete characters). */
  full: string;
  empty: string;
  /** The spinner's frames (ora's spinner). */
  frames: string[];
}

export const UNICODE_GLYPHS: Glyphs = {
  full: '█',
  empty: '░',
  frames: ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'],
};
export const ASCII_GLYPHS: Glyphs = { full: '#', empty: '.', frames: ['|', '/', '-', '\\'] };

export interface LayoutInput {
  model: ProgressModel;
  /** The status line as the spinner draws it, e.g. "⠋ pull: resolving demo/app:1.0". */
  status: string;
  /** Terminal columns; every line is at most width - 1 wide, so none ever wraps. */
  width: number;
  /** Lines the picture may take. */
  height: number;
  glyphs: Glyphs;
}

interface Cells {
  label: string;
  fraction: number;
  amount: string;
  tail1: string;
  /** Seconds left, when worth showing. */
  eta?: number;
}

/** cli-progress's ETA: whole seconds, rounded to 5 above 10s, zero-padded (`ETA 05s`, `ETA 02m10s`, `ETA 01h05m`). */
const TIME_OPTIONS = { autopadding: true, autopaddingChar: '0' } as Options;
const etaText = (seconds: number) => `ETA ${Format.TimeFormat(Math.round(seconds), TIME_OPTIONS, 5)}`;
const tail2 = (c: Cells) => (c.eta === undefined ? '' : etaText(c.eta));

/**
 * One bar line, rendered by cli-progress's formatter from `template`: `{bar}` by its bar formatter at `barW` cells,
 * `{eta_formatted}` by its time formatter; our cells (already padded to their columns) are its payload.
 */
function renderBar(template: string, c: Cells, barW: number, glyphs: Glyphs, payload: Record<string, string>): string {
  const options = {
    ...TIME_OPTIONS,
    format: template,
    barsize: barW,
    barCompleteString: glyphs.full.repeat(barW),
    barIncompleteString: glyphs.empty.repeat(barW),
    barGlue: '',
    align: 'left',
  } as Options;
  const progress = Math.min(Math.max(c.fraction, 0), 1);
  const params = {
    progress,
    eta: Math.round(c.eta ?? 0),
    startTime: 0,
    stopTime: 0,
    total: 1,
    value: progress,
    maxWidth: 0,
  } as Params;
  return Format.Formatter(options, params, payload);
}

const MAX_BAR = 40;

export function layoutProgress(input: LayoutInput): string[] {
  const { model, glyphs } = input;
  const width = Math.max(input.width - 1, 10);
  const height = Math.max(input.height, 1);
  const lines = [truncate(input.status, width)];
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
  lines.push(
    first.includes(total.tail1) && first.includes(tail2(total)) ? first : compactTotal(total, width, glyphs),
    ...rest,
  );
  if (more) lines.push(truncate(more, width));
  return lines;
}

function compactTotal(c: Cells, width: number, glyphs: Glyphs): string {
  const text = [c.amount, c.tail1, tail2(c)].filter(Boolean).join(' ');
  const barW = Math.min(MAX_BAR, width - displayWidth(c.label) - displayWidth(text) - 2);
  if (barW < 6) {
    // Too narrow for a bar: drop it, then the word "total", before cutting anything off the numbers.
    const full = `${c.label} ${text}`;
    return truncate(displayWidth(full) <= width ? full : `${c.label.replace(/^total /, '')} ${text}`, width);
  }
  return renderBar('{label} {bar} {text}', c, barW, glyphs, { label: c.label, text });
}

function totalCells(model: ProgressModel, t: Totals): Cells {
  const moving = t.bytesDone < t.bytesTotal;
  return {
    label: `total ${t.finished}/${t.count}`,
    fraction: t.bytesTotal > 0 ? t.bytesDone / t.bytesTotal : t.finished / Math.max(t.count, 1),
    amount: pair(t.bytesDone, t.bytesTotal),
    tail1: moving ? formatRate(t.rate) : 'done',
    // No time left until 1% has moved: the first chunk's pace says little about the rest.
    eta: moving && Number.isFinite(t.eta) && t.bytesDone >= t.bytesTotal / 100 ? t.eta : undefined,
  };
}

function rowCells(model: ProgressModel, r: BlobRow, withId: boolean): Cells {
  const label = withId ? `${r.id} ${r.label}` : r.label;
  const fraction = r.size > 0 ? r.bytes / r.size : 1;
  switch (r.state) {
    case 'active': {
      const rate = model.rateOf(r);
      if (rate === 0)
        return {
          label,
          fraction,
          amount: pair(r.bytes, r.size),
          tail1: model.now() - r.activeAt > 2000 ? 'stalled' : 'starting',
        };
      return {
        label,
        fraction,
        amount: pair(r.bytes, r.size),
        tail1: formatRate(rate),
        eta: (r.size - r.bytes) / rate,
      };
    }
    case 'retrying':
      return { label, fraction, amount: pair(r.bytes, r.size), tail1: 'retrying' };
    case 'waiting':
      return { label, fraction: 0, amount: formatBytes(r.size), tail1: 'waiting' };
    default:
      return { label, fraction: 1, amount: formatBytes(r.size), tail1: r.state };
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
  const t2W = w(tail2);
  const gap = width >= 70 ? 2 : 1;
  const plans: [boolean, boolean][] = [
    [true, true],
    [true, false],
    [false, false],
  ];
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
  const sep = ' '.repeat(gap);
  return cells.map((c) => {
    let template = `{label} {bar}${sep}{amount}`;
    if (plan[0] && c.tail1) template += `${sep}{status}`;
    if (plan[1] && c.eta !== undefined) template += `${sep}ETA {eta_formatted}`;
    const payload = {
      label: padEnd(truncate(c.label, labelW), labelW),
      amount: padEnd(c.amount, amountW),
      status: padEnd(c.tail1, t1W),
    };
    return truncate(renderBar(template, c, barW, glyphs, payload).replace(/ +$/, ''), width);
  });
}

/** The `n` rows to show: moving ones first (the most recently active), then the most recently finished. */
function mostActive(rows: BlobRow[], n: number): BlobRow[] {
  if (n <= 0) return [];
  const moving = rows
    .filter((r) => r.state === 'active' || r.state === 'retrying')
    .sort((a, b) => b.activeAt - a.activeAt);
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
  ]
    .filter(([n]) => (n as number) > 0)
    .map(([n, what]) => `${n} ${what}`);
  return `… ${plural(hidden.length, 'more blob')}${parts.length ? `: ${parts.join(', ')}` : ''}`;
}
