/**
 * Expected against actual, in one place: whether bytes are the ones a descriptor names (digest and size), and the
 * DIGEST_MISMATCH / SIZE_MISMATCH errors that say so, always with `details.expected` and `details.actual`.
 */
import { sha256Digest } from './digest.js';
import { EcrxError } from './errors.js';

export interface MismatchOptions {
  /** The whole message, when the default ("<what> does not match its digest: ...") does not fit the case. */
  message?: string;
  hint?: string;
  details?: Record<string, unknown>;
  cause?: unknown;
}

const DEFAULT_HINT =
  'Nothing was kept. The source or something between it and you changed the bytes; try again, and report it if it persists.';

/** `what` names the user's thing (an image, a blob, a file they gave), never a temporary name. */
export function digestMismatch(what: string, expected: string, actual: string, o: MismatchOptions = {}): EcrxError {
  return new EcrxError(
    'DIGEST_MISMATCH',
    o.message ?? `${what} does not match its digest: expected ${expected}, got ${actual}`,
    { hint: o.hint ?? DEFAULT_HINT, details: { ...o.details, expected, actual }, cause: o.cause },
  );
}

export function sizeMismatch(what: string, expected: number, actual: number, o: MismatchOptions = {}): EcrxError {
  return new EcrxError('SIZE_MISMATCH', o.message ?? `${what} should be ${expected} bytes but is ${actual}`, {
    hint: o.hint ?? DEFAULT_HINT,
    details: { ...o.details, expected, actual },
    cause: o.cause,
  });
}

/** Fails with SIZE_MISMATCH, then DIGEST_MISMATCH, unless `bytes` are what `expected` describes. */
export function verifyBytes(
  bytes: Uint8Array,
  expected: { digest: string; size?: number },
  what: string,
  o: Omit<MismatchOptions, 'message'> = {},
): void {
  if (expected.size !== undefined && bytes.length !== expected.size)
    throw sizeMismatch(what, expected.size, bytes.length, o);
  const actual = sha256Digest(bytes);
  if (actual !== expected.digest) throw digestMismatch(what, expected.digest, actual, o);
}
