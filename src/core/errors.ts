/**
 * One error type for everything ecrx reports: a stable UPPER_SNAKE code, a message that says what happened,
 * a hint that says what to do, and the exit code, mapped here and nowhere else.
 */
export const ExitCode = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  NOT_FOUND: 3,
  AUTH: 4,
  INTEGRITY: 5,
  NETWORK: 6,
  CONFLICT: 7,
  LOCAL: 8,
  ARCHIVED: 9,
  /** `ecrx sync`: some images failed, the others moved; the report names each. */
  INCOMPLETE: 10,
  INTERRUPTED: 130,
  /** The reader of stdout went away (`| head`): 128 + SIGPIPE, what the shell reports for cat or tar there. */
  STDOUT_CLOSED: 141,
} as const;

/**
 * Every error code with its exit code: the README's "Exit codes" table, which test/core/errors.test.ts holds this
 * list to in both directions.
 */
export const errorCodes = [
  ['VALIDATION_ERROR', ExitCode.USAGE],
  ['UNSUPPORTED_REGISTRY', ExitCode.USAGE],
  ['IMAGE_NOT_FOUND', ExitCode.NOT_FOUND],
  ['REPOSITORY_NOT_FOUND', ExitCode.NOT_FOUND],
  ['PLATFORM_NOT_FOUND', ExitCode.NOT_FOUND],
  ['LAYER_NOT_FOUND', ExitCode.NOT_FOUND],
  ['AUTH_ERROR', ExitCode.AUTH],
  ['ACCESS_DENIED', ExitCode.AUTH],
  ['DIGEST_MISMATCH', ExitCode.INTEGRITY],
  ['SIZE_MISMATCH', ExitCode.INTEGRITY],
  ['INVALID_IMAGE', ExitCode.INTEGRITY],
  ['THROTTLED', ExitCode.NETWORK],
  ['NETWORK_ERROR', ExitCode.NETWORK],
  ['SERVICE_ERROR', ExitCode.NETWORK],
  ['TAG_IMMUTABLE', ExitCode.CONFLICT],
  ['REPOSITORY_NOT_EMPTY', ExitCode.CONFLICT],
  ['ALREADY_EXISTS', ExitCode.CONFLICT],
  ['STORAGE_CLASS_UNSUPPORTED', ExitCode.CONFLICT],
  ['OUTPUT_ERROR', ExitCode.LOCAL],
  ['DISK_FULL', ExitCode.LOCAL],
  ['PERMISSION_DENIED', ExitCode.LOCAL],
  ['PORT_IN_USE', ExitCode.LOCAL],
  ['IMAGE_ARCHIVED', ExitCode.ARCHIVED],
  ['SYNC_INCOMPLETE', ExitCode.INCOMPLETE],
  ['INTERRUPTED', ExitCode.INTERRUPTED],
  ['INTERNAL_ERROR', ExitCode.FAILURE],
] as const;

export type ErrorCode = (typeof errorCodes)[number][0];

const exitCodes = new Map<ErrorCode, number>(errorCodes);

export const isErrorCode = (code: unknown): code is ErrorCode => exitCodes.has(code as ErrorCode);

export interface ErrorOptions {
  hint?: string;
  cause?: unknown;
  /** Machine-readable facts: expected and actual digests, the platforms that exist, ... */
  details?: Record<string, unknown>;
}

export class EcrxError extends Error {
  readonly hint?: string;
  readonly details?: Record<string, unknown>;

  constructor(
    readonly code: ErrorCode,
    message: string,
    opts: ErrorOptions = {},
  ) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'EcrxError';
    this.hint = opts.hint;
    this.details = opts.details;
  }

  get exitCode(): number {
    return exitCodes.get(this.code) ?? ExitCode.FAILURE;
  }
}

/** Turns anything thrown into an EcrxError, mapping local file-system errors to their own codes. */
export function toEcrxError(err: unknown): EcrxError {
  if (err instanceof EcrxError) return err;
  const e = err as (NodeJS.ErrnoException & { port?: number }) | undefined;
  switch (e?.code) {
    case 'ENOSPC':
      return new EcrxError('DISK_FULL', `No space left on device${e.path ? ` while writing ${e.path}` : ''}`, {
        hint: 'Free some space or point --output / --cache-dir at a larger disk, then run the same command again: finished blobs are reused.',
        cause: err,
      });
    case 'EDQUOT':
      return new EcrxError('DISK_FULL', `Disk quota exceeded${e.path ? ` while writing ${e.path}` : ''}`, {
        hint: 'Free some space or point --output / --cache-dir elsewhere, then run the same command again: finished blobs are reused.',
        cause: err,
      });
    case 'EFBIG':
      return new EcrxError(
        'OUTPUT_ERROR',
        `File too large for this file system or the process's file-size limit (ulimit -f)${e.path ? `: ${e.path}` : ''}`,
        {
          hint: 'Raise the limit (ulimit -f unlimited) or point --output / --cache-dir at another file system.',
          cause: err,
        },
      );
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new EcrxError('PERMISSION_DENIED', `Permission denied${e.path ? `: ${e.path}` : ''}`, {
        hint: 'Choose a writable location with --output or --cache-dir.',
        cause: err,
      });
    case 'ENOENT':
    case 'ENOTDIR':
    case 'EISDIR':
      return new EcrxError(
        'OUTPUT_ERROR',
        `${e.code === 'ENOENT' ? 'No such file or directory' : e.code === 'ENOTDIR' ? 'Not a directory' : 'Is a directory'}${e.path ? `: ${e.path}` : ''}`,
        { hint: 'Check the path given with --output, --cache-dir or as the target.', cause: err },
      );
    case 'EADDRINUSE':
      return new EcrxError('PORT_IN_USE', `The address is already in use${e.port ? ` (port ${e.port})` : ''}`, {
        hint: 'Pick another --port, or --port 0 for any free one.',
        cause: err,
      });
    default:
      return new EcrxError('INTERNAL_ERROR', e?.message ?? String(err), {
        cause: err,
        hint: 'This is a bug in ecrx if it keeps happening; run again with --debug and report the output.',
      });
  }
}
