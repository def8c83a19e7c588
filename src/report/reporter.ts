/**
 * Progress reporting. Transfers call a Reporter and never draw anything themselves; the CLI picks the kind:
 * spinner and bars in a terminal, plain lines when stderr is not one (CI, logs), nothing for --quiet and --json.
 * Progress goes to stderr only, so stdout stays for results.
 */
export interface BlobInfo {
  digest: string;
  size: number;
  /** What the blob is: "config", "layer 2/5", "manifest". */
  label: string;
}

export interface Reporter {
  phase(text: string): void;
  /** The blobs a transfer stage will go through (copy has two: down, then up), before the first starts. */
  expect?(blobs: BlobInfo[], direction: 'download' | 'upload'): void;
  blobStart(blob: BlobInfo): void;
  blobProgress(digest: string, bytes: number): void;
  blobSkipped(blob: BlobInfo, why: 'cached' | 'exists'): void;
  blobDone(digest: string): void;
  retry(what: string, reason: string): void;
  notice(text: string): void;
  /** Stops spinners and bars; the result is printed after this. A later event starts them again. */
  stop(): void;
}

export type ReporterKind = 'tty' | 'plain' | 'silent';

export function reporterKind(
  opts: { json?: boolean; quiet?: boolean },
  stream: NodeJS.WriteStream = process.stderr,
): ReporterKind {
  if (opts.json || opts.quiet) return 'silent';
  // A pseudo-terminal without a size (some CI runners) cannot host redrawn bars: plain lines there too.
  return stream.isTTY && (stream.columns ?? 0) > 0 && process.env.TERM !== 'dumb' ? 'tty' : 'plain';
}

/** Notices said once per process: a copy opens two sessions, the demo several, and each says the same. */
const said = new Set<string>();
export function firstTime(text: string): boolean {
  if (said.has(text)) return false;
  said.add(text);
  return true;
}

export class SilentReporter implements Reporter {
  phase(): void {}
  expect(): void {}
  blobStart(): void {}
  blobProgress(): void {}
  blobSkipped(): void {}
  blobDone(): void {}
  retry(): void {}
  notice(): void {}
  stop(): void {}
}

export async function createReporter(kind: ReporterKind, prefix: string): Promise<Reporter> {
  if (kind === 'silent') return new SilentReporter();
  if (kind === 'plain') {
    const { PlainReporter, progressInterval } = await import('./plain-reporter.js');
    return new PlainReporter(prefix, process.stderr, progressInterval());
  }
  const { TtyReporter } = await import('./tty-reporter.js');
  return new TtyReporter(prefix, process.stderr);
}
