/** The one place a command's outcome becomes output and an exit code. */
import { reportError, setQuietResult, type OutputMode, type QuietResult } from './output.js';
import { ExitCode } from '../core/errors.js';

export interface CommonFlags {
  json?: boolean;
  quiet?: boolean;
  debug?: boolean;
}

export interface RunOptions {
  /** What -q prints of the result (nothing when not given). */
  quiet?: QuietResult;
}

export const modeOf = (flags: CommonFlags): OutputMode => ({ json: Boolean(flags.json), quiet: Boolean(flags.quiet) });

/** Runs a command body; an error is printed once, in the mode asked for, and becomes the documented exit code. */
export async function runCommand(flags: CommonFlags, body: () => Promise<void>, opts: RunOptions = {}): Promise<void> {
  setQuietResult(opts.quiet);
  try {
    await body();
    if (process.exitCode === undefined) process.exitCode = ExitCode.OK;
  } catch (err) {
    process.exitCode = reportError(modeOf(flags), err, Boolean(flags.debug || process.env.ECRX_DEBUG));
    // Interrupted: the work has cleaned up behind itself; exit now rather than wait for sockets and timers.
    if (process.exitCode === ExitCode.INTERRUPTED) process.exit(ExitCode.INTERRUPTED);
  }
}
