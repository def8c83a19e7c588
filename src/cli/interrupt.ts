/**
 * Ctrl-C: the first SIGINT/SIGTERM takes the progress display down at once and aborts the work (temporary files
 * are removed by the code that made them), and the command exits 130; a second one exits at once.
 */
import { EcrxError } from '../core/errors.js';
import { haltLiveRegions, writeLine } from '../report/live-region.js';

export interface InterruptOptions {
  /** What running the command again will reuse, for the hint: "blobs already downloaded are reused." */
  resume?: string;
}

/** How long cleanup may take before ecrx says it is still at it. */
const PATIENCE_MS = 1500;

export async function interruptible<T>(
  body: (signal: AbortSignal) => Promise<T>,
  opts: InterruptOptions = {},
): Promise<T> {
  const ctrl = new AbortController();
  let count = 0;
  let slow: NodeJS.Timeout | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    count++;
    if (count > 1) process.exit(130);
    haltLiveRegions();
    const hint = `Run the same command again${opts.resume ? `: ${opts.resume}` : '.'}`;
    ctrl.abort(
      new EcrxError(
        'INTERRUPTED',
        `Interrupted by ${sig === 'SIGINT' ? 'Ctrl-C (SIGINT)' : sig}; temporary files removed, nothing half-written left`,
        { hint },
      ),
    );
    slow = setTimeout(() => {
      if (process.stderr.isTTY)
        writeLine(process.stderr, 'ecrx: stopping and cleaning up (Ctrl-C again to quit at once)');
    }, PATIENCE_MS);
    slow.unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await body(ctrl.signal);
    // Work that finished despite the signal (it was past its last check) still ends as interrupted: Ctrl-C means stop.
    if (ctrl.signal.aborted) throw ctrl.signal.reason;
    return result;
  } catch (err) {
    if (ctrl.signal.aborted) throw ctrl.signal.reason;
    throw err;
  } finally {
    if (slow) clearTimeout(slow);
    // Once interrupted, the handler stays until the process is gone: a second Ctrl-C that lands while the error is
    // being printed must still exit 130, not kill the process by the signal (a shell then drops the rest of its line).
    if (count === 0) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
}
