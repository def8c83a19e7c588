/**
 * The terminal view. Until a transfer knows its blobs, one line: the phase, on ora's spinner (PhaseSpinner). Once
 * it does, the spinner hands over to a LiveRegion that redraws the spinner line (ora's frame), a total bar and one
 * bar per blob (lines rendered by cli-progress, laid out by progress-layout.ts). Retries and notices are printed
 * above whichever is up. Nothing here touches stdin, so Ctrl-C stays a signal.
 */
import { redact } from '../core/redact.js';
import { LiveRegion } from './live-region.js';
import { PhaseSpinner } from './phase-spinner.js';
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

export class TtyReporter implements Reporter {
  private readonly model = new ProgressModel();
  private region?: LiveRegion;
  private readonly glyphs: Glyphs = unicodeTerminal() ? UNICODE_GLYPHS : ASCII_GLYPHS;
  private readonly spinner: PhaseSpinner;

  constructor(
    private readonly prefix: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.spinner = new PhaseSpinner(stream, this.glyphs.frames);
  }

  /** The phase alone on ora's spinner until there are blobs; then the bar region, which ora's line heads. */
  private show(): void {
    if (this.region) return;
    if (!this.model.hasRows) {
      this.spinner.start();
      return;
    }
    this.spinner.stop();
    this.region = new LiveRegion(
      this.stream,
      (screen) =>
        layoutProgress({
          model: this.model,
          status: this.spinner.line(),
          width: screen.columns,
          height: Math.max(screen.rows - 2, 1),
          glyphs: this.glyphs,
        }),
      this.spinner.interval,
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
    else if (this.spinner.spinning) this.spinner.log(line);
    else this.stream.write(`${line}\n`);
  }

  phase(text: string): void {
    this.spinner.text = this.clean(`${this.prefix}: ${text}`);
    this.show();
    this.region?.draw();
  }
  expect(blobs: BlobInfo[], direction: 'download' | 'upload'): void {
    this.model.expect(
      blobs.map((b) => ({ ...b, label: this.clean(b.label) })),
      direction,
    );
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
    this.spinner.stop();
    this.region?.stop();
    this.region = undefined;
  }
}
