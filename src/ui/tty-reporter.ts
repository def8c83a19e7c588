/**
 * The terminal view: a spinner line with the current phase, then a total bar and one bar per blob, redrawn in
 * place by a LiveRegion. Retries and notices are printed above the bars. It never touches stdin, so Ctrl-C stays
 * a signal (a spinner library that puts the terminal in raw mode turns it into a keystroke nobody reads).
 */
import { redact } from '../core/redact.js';
import { LiveRegion } from './live-region.js';
import { ASCII_GLYPHS, UNICODE_GLYPHS, layoutProgress, type Glyphs } from './progress-layout.js';
import { ProgressModel } from './progress-model.js';
import { firstTime, type BlobInfo, type Reporter } from './reporter.js';
import { sanitize } from './sanitize.js';
import { wrapWords } from './format.js';

/** Whether the terminal takes UTF-8 (block bars, braille spinner) or only ASCII. */
export function unicodeTerminal(env: NodeJS.ProcessEnv = process.env): boolean {
  if (process.platform === 'win32') return Boolean(env.WT_SESSION || env.TERM_PROGRAM);
  const locale = env.LC_ALL || env.LC_CTYPE || env.LANG || '';
  return /utf-?8/i.test(locale) && env.TERM !== 'linux';
}

const FRAME_MS = 80;

export class TtyReporter implements Reporter {
  private readonly model = new ProgressModel();
  private region?: LiveRegion;
  private status = '';
  private readonly glyphs: Glyphs = unicodeTerminal() ? UNICODE_GLYPHS : ASCII_GLYPHS;

  constructor(private readonly prefix: string, private readonly stream: NodeJS.WriteStream = process.stderr) {}

  private show(): void {
    if (this.region) return;
    this.region = new LiveRegion(this.stream, (screen) =>
      layoutProgress({ model: this.model, status: this.status, width: screen.columns, height: Math.max(screen.rows - 2, 1), frame: Math.floor(Date.now() / FRAME_MS), glyphs: this.glyphs }),
    );
    this.region.start();
  }

  private clean(text: string): string {
    return sanitize(redact(text), { inline: true });
  }

  private log(text: string): void {
    // Wrapped at word boundaries for the terminal's width, continuation lines indented under the first.
    const columns = this.region?.screen.columns ?? this.stream.columns ?? 80;
    const line = wrapWords(this.clean(`${this.prefix}: ${text}`), columns - 1, '  ');
    if (this.region) this.region.log(line);
    else this.stream.write(`${line}\n`);
  }

  phase(text: string): void {
    this.status = this.clean(`${this.prefix}: ${text}`);
    this.show();
    this.region?.draw();
  }
  expect(blobs: BlobInfo[], direction: 'download' | 'upload'): void {
    this.model.expect(blobs.map((b) => ({ ...b, label: this.clean(b.label) })), direction);
    this.show();
  }
  blobStart(blob: BlobInfo): void {
    this.model.start({ ...blob, label: this.clean(blob.label) });
    this.show();
  }
  blobProgress(digest: string, bytes: number): void {
    this.model.progress(digest, bytes);
  }
  blobSkipped(blob: BlobInfo, why: 'cached' | 'exists'): void {
    this.model.skip({ ...blob, label: this.clean(blob.label) }, why);
    this.show();
  }
  blobDone(digest: string): void {
    this.model.done(digest);
  }
  retry(what: string, reason: string): void {
    this.model.retrying(what);
    this.log(`retrying ${what}: ${reason}`);
  }
  notice(text: string): void {
    if (firstTime(text)) this.log(text);
  }
  stop(): void {
    this.region?.stop();
    this.region = undefined;
  }
}
