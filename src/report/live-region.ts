/**
 * The few lines at the bottom of a terminal that ecrx redraws in place (spinner, bars), and the only code that
 * writes to the terminal while they are up. A log line is printed by erasing the region, writing the line, and
 * drawing the region again below it, so nothing is ever torn. The region is never wider than the terminal minus one
 * column (no line wraps) nor taller than it (nothing scrolls away undrawable), and it is redrawn when the terminal
 * is resized: lines drawn for a wider terminal are re-flowed by the terminal, so the erase counts the rows they take
 * at the new width. Before any bar exists, the phase spinner (ora, see phase-spinner.ts) is the live display; both
 * are tracked here, so that log lines, Ctrl-C and exit reach whichever is up.
 */
import { displayWidth, truncate } from './format.js';

const ESC = '\u001b[';
const HIDE_CURSOR = `${ESC}?25l`;
const SHOW_CURSOR = `${ESC}?25h`;

export interface Screen {
  columns: number;
  rows: number;
}

/** A display redrawn at the bottom of a terminal: the bar region, or the phase spinner. */
export interface LiveDisplay {
  readonly stream: NodeJS.WriteStream;
  /** Prints `text` above the display, which stays below it. */
  log(text: string): void;
  /** Erases the display for good and shows the cursor. */
  stop(): void;
}

/** Every display alive in this process, so that Ctrl-C and exit can take them all down at once. */
const alive = new Set<LiveDisplay>();
let exitHook = false;
let halted = false;

/** Counts `live` as up; false once Ctrl-C has halted everything, when nothing may be drawn any more. */
export function track(live: LiveDisplay): boolean {
  if (halted) return false;
  alive.add(live);
  if (!exitHook) {
    exitHook = true;
    // However the process ends (a second Ctrl-C exits at once), the cursor comes back.
    process.once('exit', () => haltLiveRegions());
  }
  return true;
}

export function untrack(live: LiveDisplay): void {
  alive.delete(live);
}

/** Erases every region and shows the cursor again, for good: for Ctrl-C, before anything else is printed. */
export function haltLiveRegions(): void {
  halted = true;
  for (const r of [...alive]) r.stop();
}

/** Writes a line to `stream`, above the live region drawn on it if there is one, so that nothing tears. */
export function writeLine(stream: NodeJS.WriteStream, text: string): void {
  for (const r of alive) {
    if (r.stream === stream) return r.log(text);
  }
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}

export class LiveRegion implements LiveDisplay {
  private drawn: string[] = [];
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly onResize = () => this.draw();

  /**
   * @param render the lines to show for a screen size; called on every tick, resize and log line.
   * @param tickMs how often to redraw (spinner frames, rates).
   */
  constructor(
    readonly stream: NodeJS.WriteStream,
    private readonly render: (screen: Screen) => string[],
    private readonly tickMs = 100,
  ) {}

  /**
   * The terminal's size now, asked of the terminal (an ioctl) rather than taken from `columns`, which Node updates
   * only when SIGWINCH has been handled: a frame drawn in between would be laid out for the old width.
   */
  get screen(): Screen {
    try {
      const [columns, rows] = this.stream.getWindowSize();
      if (columns > 0 && rows > 0) return { columns, rows };
    } catch {
      // not a terminal after all: fall back to what Node last knew
    }
    return { columns: this.stream.columns || 80, rows: this.stream.rows || 24 };
  }

  start(): void {
    if (this.timer || this.stopped || !track(this)) return;
    this.stream.on('resize', this.onResize);
    this.stream.write(HIDE_CURSOR);
    this.draw();
    this.timer = setInterval(() => this.draw(), this.tickMs);
    this.timer.unref();
  }

  /** Prints `text` (one or more lines) above the region, which is drawn again below it. */
  log(text: string): void {
    const body = text.endsWith('\n') ? text : `${text}\n`;
    if (!this.timer || this.stopped) {
      this.stream.write(body);
      return;
    }
    this.stream.write(this.erase() + body + this.frame());
  }

  /** Redraws now (the next tick would anyway). */
  draw(): void {
    if (!this.timer && !alive.has(this)) return;
    if (this.stopped) return;
    this.stream.write(this.erase() + this.frame());
  }

  /** Erases the region for good and shows the cursor. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.stream.off('resize', this.onResize);
    untrack(this);
    this.stream.write(this.erase() + SHOW_CURSOR);
  }

  /**
   * Moves from the line below the region to its first line and clears to the end of the screen. Each drawn line
   * takes ceil(width / columns) rows now: more than one if the terminal became narrower and re-flowed it.
   */
  private erase(): string {
    const columns = this.screen.columns;
    const rows = this.drawn.reduce((n, line) => n + Math.max(1, Math.ceil(displayWidth(line) / columns)), 0);
    this.drawn = [];
    return rows > 0 ? `\r${ESC}${rows}A${ESC}J` : `\r${ESC}J`;
  }

  private frame(): string {
    const screen = this.screen;
    // One row stays free for the cursor, and one more so a log line never pushes the region's top off screen.
    const lines = this.render(screen)
      .slice(0, Math.max(screen.rows - 2, 1))
      .map((l) => truncate(l, screen.columns - 1));
    this.drawn = lines;
    // Auto-wrap off while the frame is written: should the terminal have narrowed since its size was read, a line
    // is clipped instead of spilling onto a row the next erase would not count.
    return lines.length ? `${ESC}?7l${lines.join('\n')}\n${ESC}?7h` : '';
  }
}
