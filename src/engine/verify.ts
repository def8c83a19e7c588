/**
 * The engine's check of every blob it moves: the bytes read from offset 0 are hashed as they pass, and `verified`
 * settles when a whole read ends (resolved on a match; rejected, and the stream failed, on a mismatch), so a sink
 * commits nothing the engine has not checked. A read from a later offset (a retried part) is passed through: the
 * first whole read is the one that counts.
 */
import type { Readable, TransformCallback } from 'node:stream';
import { HashingStream } from '../core/digest.js';
import { EcrxError } from '../core/errors.js';
import type { Descriptor } from '../oci/manifest.js';

export interface Verifier {
  /** Wraps a stream of the blob's bytes from `offset`. */
  watch(body: Readable, offset: number): Readable;
  verified: Promise<void>;
}

export function mismatch(d: Descriptor, where: string, actual: { digest: string; size: number }): EcrxError {
  if (actual.size !== d.size)
    return new EcrxError('SIZE_MISMATCH', `${where}: blob ${d.digest} is ${actual.size} bytes, expected ${d.size}`, {
      details: { expected: d.digest, expectedSize: d.size, actualSize: actual.size },
    });
  return new EcrxError('DIGEST_MISMATCH', `${where}: blob ${d.digest} hashes to ${actual.digest}`, {
    details: { expected: d.digest, actual: actual.digest },
  });
}

/** Hashes what passes (core/digest.ts) and fails the stream, before its end, on bytes that are not the blob. */
class Checked extends HashingStream {
  constructor(
    private readonly d: Descriptor,
    private readonly where: string,
    private readonly done: (err?: EcrxError) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, enc: BufferEncoding, cb: TransformCallback): void {
    if (this.bytes + chunk.length > this.d.size) {
      const err = mismatch(this.d, this.where, {
        digest: '(more bytes than expected)',
        size: this.bytes + chunk.length,
      });
      this.done(err);
      return cb(err);
    }
    super._transform(chunk, enc, cb);
  }

  override _flush(cb: TransformCallback): void {
    const actual = { digest: this.digest(), size: this.bytes };
    const err =
      actual.digest === this.d.digest && actual.size === this.d.size ? undefined : mismatch(this.d, this.where, actual);
    this.done(err);
    cb(err);
  }
}

export function verifier(d: Descriptor, where: string, alreadyVerified = false): Verifier {
  let settle: { resolve: () => void; reject: (e: unknown) => void } | undefined;
  const verified = alreadyVerified
    ? Promise.resolve()
    : new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  // A rejection nobody awaits (a sink that failed before reading) must not end the process.
  verified.catch(() => {});
  const done = (err?: EcrxError) => {
    if (err) settle?.reject(err);
    else settle?.resolve();
    settle = undefined;
  };
  const watch = (body: Readable, offset: number): Readable => {
    if (!settle || offset !== 0) return body;
    const check = new Checked(d, where, done);
    body.on('error', (err) => check.destroy(err));
    return body.pipe(check);
  };
  return { watch, verified };
}
