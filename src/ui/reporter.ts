/**
 * Progress reporting. Transfers call a Reporter and never draw anything themselves; the CLI picks the kind:
 * spinner and bars in a terminal, plain lines when stderr is not one (CI, logs), nothing for --quiet and --json.
 * Progress goes to stderr only, so stdout stays for results.
 */
import { redact } from '../core/redact.js';
import { formatBytes, shortDigest } from './format.js';

export interface BlobInfo {
  digest: string;
  size: number;
  /** What the blob is: "config", "layer 2/5", "manifest". */
  label: string;
}

export interface Reporter {
  phase(text: string): void;
  blobStart(blob: BlobInfo): void;
  blobProgress(digest: string, bytes: number): void;
  blobSkipped(blob: BlobInfo, why: 'cached' | 'exists'): void;
  blobDone(digest: string): void;
  retry(what: string, reason: string): void;
  notice(text: string): void;
  /** Stops spinners and bars; the result is printed after this. */
  stop(): void;
}

export type ReporterKind = 'tty' | 'plain' | 'silent';

export function reporterKind(opts: { json?: boolean; quiet?: boolean }, stream: NodeJS.WriteStream = process.stderr): ReporterKind {
  if (opts.json || opts.quiet) return 'silent';
  // A pseudo-terminal without a size (some CI runners) cannot host redrawn bars: plain lines there too.
  return stream.isTTY && (stream.columns ?? 0) > 0 && process.env.TERM !== 'dumb' ? 'tty' : 'plain';
}

export class SilentReporter implements Reporter {
  phase(): void {}
  blobStart(): void {}
  blobProgress(): void {}
  blobSkipped(): void {}
  blobDone(): void {}
  retry(): void {}
  notice(): void {}
  stop(): void {}
}

/** One line per event, no ANSI codes: what CI logs want. */
export class PlainReporter implements Reporter {
  private readonly started = new Map<string, { blob: BlobInfo; at: number }>();

  constructor(private readonly prefix: string, private readonly out: NodeJS.WritableStream = process.stderr) {}

  private line(text: string): void {
    this.out.write(`${this.prefix}: ${redact(text)}\n`);
  }

  phase(text: string): void {
    this.line(text);
  }
  blobStart(blob: BlobInfo): void {
    this.started.set(blob.digest, { blob, at: Date.now() });
    this.line(`${shortDigest(blob.digest)} ${blob.label} ${formatBytes(blob.size)} started`);
  }
  blobProgress(): void {}
  blobSkipped(blob: BlobInfo, why: 'cached' | 'exists'): void {
    this.line(`${shortDigest(blob.digest)} ${blob.label} ${formatBytes(blob.size)} ${why}`);
  }
  blobDone(digest: string): void {
    const s = this.started.get(digest);
    if (!s) return;
    const secs = Math.max((Date.now() - s.at) / 1000, 0.001);
    this.line(`${shortDigest(digest)} ${s.blob.label} ${formatBytes(s.blob.size)} done in ${secs.toFixed(1)}s (${formatBytes(s.blob.size / secs)}/s)`);
  }
  retry(what: string, reason: string): void {
    this.line(`retrying ${what}: ${reason}`);
  }
  notice(text: string): void {
    this.line(text);
  }
  stop(): void {}
}

export async function createReporter(kind: ReporterKind, prefix: string): Promise<Reporter> {
  if (kind === 'silent') return new SilentReporter();
  if (kind === 'plain') return new PlainReporter(prefix);
  const { TtyReporter } = await import('./tty-reporter.js');
  return TtyReporter.create(prefix);
}
