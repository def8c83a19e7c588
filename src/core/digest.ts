/** sha256 while bytes stream past, and of whole files: the one place ecrx hashes. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';

/** Passes bytes through unchanged, counting them and computing their sha256. */
export class HashingStream extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }

  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}

export async function fileDigest(path: string, signal?: AbortSignal): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20, signal })) h.update(chunk as Buffer);
  return `sha256:${h.digest('hex')}`;
}

/** The 12 hex digits people recognise a blob by (progress lines, retry notices). */
export const shortDigest = (digest: string) => digest.replace(/^sha256:/, '').slice(0, 12);
