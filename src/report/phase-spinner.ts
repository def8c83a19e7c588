/**
 * The phase line ("pull: resolving team/app:1.0", "push: checking 4 blobs…") shown before any blob bar exists, drawn
 * by ora: it animates the frames, hides and gives back the cursor, and while it spins it catches every write to the
 * terminal, clears its line, lets the write through and draws itself again below it (so log lines never tear).
 * Once bars exist, the bar region takes over the drawing and shows `line()`, still ora's frame and text.
 *
 * What ora is not left to do: read stdin (`discardStdin: false`: ora's default puts the terminal in raw mode, and
 * Ctrl-C would become a keystroke nobody reads instead of SIGINT), decide whether the terminal is interactive (the
 * reporter chose; ora would turn itself off whenever CI is set, even in a real terminal), colour (ecrx prints none),
 * and erase a line the terminal re-flowed when it narrowed (ora counts rows at the width it drew with).
 */
import ora, { type Ora } from 'ora';
import { displayWidth, truncate } from './format.js';
import { track, untrack, type LiveDisplay } from './live-region.js';

const ESC = '\u001b[';

export class PhaseSpinner implements LiveDisplay {
  private readonly ora: Ora;
  private status = '';
  private readonly onResize = () => this.reflow();

  constructor(
    readonly stream: NodeJS.WriteStream,
    frames: string[],
    readonly interval = 80,
  ) {
    this.ora = ora({
      stream,
      discardStdin: false,
      hideCursor: true,
      isEnabled: true,
      color: false,
      spinner: { interval, frames },
    });
  }

  get spinning(): boolean {
    return this.ora.isSpinning;
  }

  /** The phase text; ora shows it on its next frame. */
  set text(status: string) {
    this.status = status;
    this.ora.text = this.fit();
  }

  /** The spinner line for the bar region: ora's current frame (advanced at ora's own interval) and the text. */
  line(): string {
    return this.ora.frame();
  }

  start(): void {
    if (this.ora.isSpinning || !track(this)) return;
    this.ora.text = this.fit();
    this.stream.on('resize', this.onResize);
    this.ora.start();
  }

  log(text: string): void {
    // ora, spinning, intercepts this write: it clears its line, writes ours, and draws the spinner below it.
    this.stream.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  stop(): void {
    this.stream.off('resize', this.onResize);
    untrack(this);
    if (this.ora.isSpinning) this.ora.stop();
  }

  /**
   * The text cut so the whole line (frame, space, text) never wraps, with room to spare for the terminal's echo of
   * Ctrl-C: "^C" lands after the line (ora leaves the cursor there), and if it wrapped, ora's clear on stop would
   * erase only the row "C" wrapped onto and leave the spinner above it.
   */
  private fit(): string {
    return truncate(this.status, this.columns() - 5);
  }

  private columns(): number {
    try {
      const [columns] = this.stream.getWindowSize();
      if (columns > 0) return columns;
    } catch {
      // not a terminal after all
    }
    return this.stream.columns || 80;
  }

  /**
   * After a resize: a line drawn for a wider terminal now takes more rows, and ora would clear only the last one.
   * ora stops (clearing the row the cursor is on), the rows above it that the line re-flowed onto are erased here,
   * and ora starts again with the text fitted to the new width.
   */
  private reflow(): void {
    if (!this.ora.isSpinning) return;
    const rows = Math.ceil((2 + displayWidth(this.ora.text)) / this.columns());
    this.ora.stop();
    if (rows > 1) this.stream.write(`\r${ESC}${rows - 1}A${ESC}J`);
    this.ora.text = this.fit();
    this.ora.start();
  }
}
