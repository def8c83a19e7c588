/** The one place a command's outcome becomes output and an exit code. */
import { reportError, type OutputMode } from './output.js';
import { ExitCode } from '../core/errors.js';

export interface CommonFlags {
  json?: boolean;
  quiet?: boolean;
  debug?: boolean;
}

export const modeOf = (flags: CommonFlags): OutputMode => ({ json: Boolean(flags.json), quiet: Boolean(flags.quiet) });

/** Runs a command body; an error is printed once, in the mode asked for, and becomes the documented exit code. */
export async function runCommand(flags: CommonFlags, body: () => Promise<void>): Promise<void> {
  try {
    await body();
    if (process.exitCode === undefined) process.exitCode = ExitCode.OK;
  } catch (err) {
    process.exitCode = reportError(modeOf(flags), err, Boolean(flags.debug || process.env.ECRX_DEBUG));
  }
}
