/**
 * What goes to stdout: one JSON envelope with --json, the bare result with --quiet, or human text; errors go to
 * stderr unless --json. This is the output edge: every human line passes through sanitize() (an image or a
 * registry can put terminal escapes into names, tags and messages) and every JSON document through toJsonLine().
 */
import { EcrxError, toEcrxError } from '../core/errors.js';
import { redact } from '../core/redact.js';
import { sanitize, toJsonLine } from '../report/sanitize.js';
import { wrapWords } from '../report/format.js';
import { writeLine } from '../report/live-region.js';

export interface OutputMode {
  json?: boolean;
  quiet?: boolean;
}

/** What `-q` prints for a command's result: the digest for pull, push and copy, the path for export, ... */
export type QuietResult = (data: QuietDoc) => string | string[] | undefined | null;

/** The fields of a result document that `-q` picks from (each command names its own; see its `--json`). */
export interface QuietDoc {
  digest?: string;
  version?: string;
  output?: string;
  dockerConfig?: string;
  tags?: { tag: string | null; digest: string }[];
  repositories?: { name: string }[];
  blobs?: { digest: string }[];
  deleted?: { digest: string }[];
}
let quietResult: QuietResult | undefined;

/** Set by the command being run (see runCommand). */
export function setQuietResult(pick: QuietResult | undefined): void {
  quietResult = pick;
}

/** Human text for a terminal: wrapped at word boundaries to its width, so nothing breaks mid-word. */
function forTerminal(text: string, stream: NodeJS.WriteStream): string {
  const clean = sanitize(text);
  return stream.isTTY && stream.columns ? wrapWords(clean, stream.columns - 1, '  ') : clean;
}

export function writeJson(value: unknown): void {
  process.stdout.write(`${toJsonLine(value)}\n`);
}

export function printSuccess(mode: OutputMode, data: unknown, human?: () => string | undefined): void {
  if (mode.json) {
    writeJson({ success: true, data });
    return;
  }
  if (mode.quiet) {
    const picked = quietResult?.(data as QuietDoc);
    const lines = picked === undefined || picked === null ? [] : Array.isArray(picked) ? picked : [picked];
    // One result per line, each on one line: a script reads them with `read` or xargs.
    for (const l of lines) process.stdout.write(`${sanitize(String(l), { inline: true })}\n`);
    return;
  }
  const text = human?.();
  if (text) process.stdout.write(`${forTerminal(text.replace(/\n$/, ''), process.stdout)}\n`);
}

/** A human note on stderr (not a result): above any progress bars, sanitized, and not with --quiet or --json. */
export function printNote(mode: OutputMode, text: string): void {
  if (mode.json || mode.quiet) return;
  writeLine(process.stderr, forTerminal(redact(text), process.stderr));
}

/** A --debug line on stderr, above any progress bars. */
export function printDebug(line: string): void {
  writeLine(process.stderr, sanitize(redact(`debug: ${line}`), { inline: true }));
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
    writeJson(errorEnvelope(err));
  } else {
    let text = `ecrx: error ${err.code}: ${redact(err.message)}`;
    if (err.hint) text += `\n  hint: ${redact(err.hint)}`;
    writeLine(process.stderr, forTerminal(text, process.stderr));
  }
  if (debug && err.cause) writeLine(process.stderr, sanitize(redact(String((err.cause as Error)?.stack ?? err.cause))));
  return err.exitCode;
}
