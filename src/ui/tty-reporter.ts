/** The terminal view: an ora spinner while resolving, then one cli-progress bar per blob. */
import type { Ora } from 'ora';
import type { MultiBar, SingleBar } from 'cli-progress';
import { redact } from '../core/redact.js';
import type { BlobInfo, Reporter } from './reporter.js';
import { formatBytes, shortDigest } from './format.js';

export class TtyReporter implements Reporter {
  private spinner?: Ora;
  private multibar?: MultiBar;
  private readonly bars = new Map<string, { bar: SingleBar; size: number }>();

  private constructor(
    private readonly prefix: string,
    private readonly oraFactory: typeof import('ora').default,
    private readonly progress: typeof import('cli-progress'),
  ) {}

  static async create(prefix: string): Promise<TtyReporter> {
    const [ora, progress] = await Promise.all([import('ora'), import('cli-progress')]);
    return new TtyReporter(prefix, ora.default, (progress as any).default ?? progress);
  }

  private ensureBars(): MultiBar {
    if (!this.multibar) {
      this.spinner?.stop();
      this.spinner = undefined;
      this.multibar = new this.progress.MultiBar(
        {
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: false,
          stopOnComplete: false,
          autopadding: true,
          format: (options, params, payload) => {
            const width = options.barsize ?? 24;
            const filled = Math.round(params.progress * width);
            const bar = `${'█'.repeat(filled)}${'░'.repeat(Math.max(width - filled, 0))}`;
            if (payload.status) return `${payload.id} ${payload.label.padEnd(11)} ${bar} ${payload.status}`;
            const elapsed = (Date.now() - params.startTime) / 1000;
            const speed = elapsed > 0 ? params.value / elapsed : 0;
            const eta = speed > 0 ? Math.round((params.total - params.value) / speed) : 0;
            return `${payload.id} ${payload.label.padEnd(11)} ${bar} ${formatBytes(params.value)}/${formatBytes(params.total)} ${formatBytes(speed)}/s ETA ${eta}s`;
          },
        },
        this.progress.Presets.shades_classic,
      );
    }
    return this.multibar;
  }

  phase(text: string): void {
    if (this.multibar) return;
    if (!this.spinner) this.spinner = this.oraFactory({ text: `${this.prefix}: ${text}`, stream: process.stderr, color: process.env.NO_COLOR ? false as any : 'cyan' }).start();
    else this.spinner.text = `${this.prefix}: ${text}`;
  }

  blobStart(blob: BlobInfo): void {
    const bar = this.ensureBars().create(Math.max(blob.size, 1), 0, { id: shortDigest(blob.digest), label: blob.label, status: '' });
    this.bars.set(blob.digest, { bar, size: blob.size });
  }

  blobProgress(digest: string, bytes: number): void {
    this.bars.get(digest)?.bar.update(bytes);
  }

  blobSkipped(blob: BlobInfo, why: 'cached' | 'exists'): void {
    const bar = this.ensureBars().create(1, 1, { id: shortDigest(blob.digest), label: blob.label, status: `${why} (${formatBytes(blob.size)})` });
    bar.stop();
  }

  blobDone(digest: string): void {
    const entry = this.bars.get(digest);
    if (!entry) return;
    entry.bar.update(Math.max(entry.size, 1), { status: `done (${formatBytes(entry.size)})` });
    entry.bar.stop();
  }

  retry(what: string, reason: string): void {
    const text = redact(`${this.prefix}: retrying ${what}: ${reason}`);
    if (this.multibar) this.multibar.log(`${text}\n`);
    else if (this.spinner) this.spinner.info(text).start();
    else process.stderr.write(`${text}\n`);
  }

  notice(text: string): void {
    const line = redact(`${this.prefix}: ${text}`);
    if (this.multibar) this.multibar.log(`${line}\n`);
    else if (this.spinner) this.spinner.info(line).start();
    else process.stderr.write(`${line}\n`);
  }

  stop(): void {
    this.spinner?.stop();
    this.multibar?.stop();
  }
}
