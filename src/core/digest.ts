/** sha256 of bytes in memory, while bytes stream past, and of whole files: the one place ecrx hashes. */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';

/** A sha256 digest as OCI and ECR write it: the algorithm, a colon, 64 lowercase hex digits. */
export const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;

/** The hex part alone, as blob stores name their files. */
export const SHA256_HEX = /^[a-f0-9]{64}$/;

export const isSha256Digest = (value: unknown): value is string =>
  typeof value === 'string' && SHA256_DIGEST.test(value);

/** A running sha256, for bytes that arrive in pieces; `digestOf` turns it into a digest. */
export const createSha256 = (): Hash => createHash('sha256');

export const digestOf = (hash: Hash): string => `sha256:${hash.digest('hex')}`;

/** The bare hex sha256 of `data` (SigV4 and file names want it without the `sha256:`). */
export const sha256Hex = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** The digest of `data`; a string is hashed as UTF-8. */
export const sha256Digest = (data: string | Uint8Array): string => `sha256:${sha256Hex(data)}`;

/** Passes bytes through unchanged, counting them and computing their sha256. */
export class HashingStream extends Transform {
  readonly hash = createSha256();
  bytes = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }

  digest(): string {
    return digestOf(this.hash);
  }
}

export async function fileDigest(path: string, signal?: AbortSignal): Promise<string> {
  const h = createSha256();
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20, signal })) h.update(chunk as Buffer);
  return digestOf(h);
}

/** The 12 hex digits people recognise a blob by (progress lines, retry notices). */
export const shortDigest = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);
