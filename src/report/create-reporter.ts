/** Picks the reporter for a run: its own file so the reporters can import the interface without a cycle. */
import { SilentReporter, type Reporter, type ReporterKind } from './reporter.js';

export async function createReporter(kind: ReporterKind, prefix: string): Promise<Reporter> {
  if (kind === 'silent') return new SilentReporter();
  if (kind === 'plain') {
    const { PlainReporter, progressInterval } = await import('./plain-reporter.js');
    return new PlainReporter(prefix, process.stderr, progressInterval());
  }
  const { TtyReporter } = await import('./tty-reporter.js');
  return new TtyReporter(prefix, process.stderr);
}
