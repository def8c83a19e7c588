/** What goes to stdout: one JSON envelope with --json, or human text; errors always go to stderr unless --json. */
import { EcrxError, toEcrxError } from '../core/errors.js';
import { redact } from '../core/redact.js';

export interface OutputMode {
  json?: boolean;
  quiet?: boolean;
}

export function printSuccess(mode: OutputMode, data: unknown, human?: () => string | undefined): void {
  if (mode.json) {
    process.stdout.write(`${JSON.stringify({ success: true, data })}\n`);
    return;
  }
  if (mode.quiet) return;
  const text = human?.();
  if (text) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function errorEnvelope(err: EcrxError) {
  return {
    success: false,
    error: {
      code: err.code,
      message: redact(err.message),
      ...(err.hint ? { hint: err.hint } : {}),
      ...(err.details ? { details: JSON.parse(redact(JSON.stringify(err.details))) } : {}),
    },
  };
}

/** Prints the error the way the mode wants and returns the exit code. */
export function reportError(mode: OutputMode, thrown: unknown, debug = false): number {
  const err = toEcrxError(thrown);
  if (mode.json) {
    process.stdout.write(`${JSON.stringify(errorEnvelope(err))}\n`);
  } else {
    let text = `ecrx: error ${err.code}: ${redact(err.message)}\n`;
    if (err.hint) text += `  hint: ${err.hint}\n`;
    process.stderr.write(text);
  }
  if (debug && err.cause) process.stderr.write(`${redact(String((err.cause as Error)?.stack ?? err.cause))}\n`);
  return err.exitCode;
}
