/**
 * Ctrl-C: the first SIGINT/SIGTERM aborts the work (temporary files are removed by the code that made them) and
 * the command exits 130; a second one exits at once.
 */
import { EcrxError } from '../core/errors.js';

export async function interruptible<T>(body: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctrl = new AbortController();
  let count = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    count++;
    if (count > 1) process.exit(130);
    ctrl.abort(new EcrxError('INTERRUPTED', `Interrupted by ${sig}; temporary files removed, nothing half-written left`, { hint: 'Run the same command again: blobs already downloaded are reused.' }));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await body(ctrl.signal);
  } catch (err) {
    if (ctrl.signal.aborted) throw ctrl.signal.reason;
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
