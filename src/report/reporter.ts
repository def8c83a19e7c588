/**
 * Progress reporting. Transfers call a Reporter and never draw anything themselves; the CLI picks the kind:
 * spinner and bars in a terminal, plain lines when stderr is not one (CI, logs), nothing for --quiet and --json.
 * Progress goes to stderr only, so stdout stays for results.
 */
import type { TransferEvents } from '../engine/events.js';
export type { BlobInfo } from '../engine/events.js';

/** The engine's events, plus what only a terminal needs: stopping spinners and bars before the result prints. */
export interface Reporter extends TransferEvents {
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
