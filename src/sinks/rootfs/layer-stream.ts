/**
 * A layer blob from the cache as a stream of tar bytes: gzip or zstd detected by its magic bytes, and the
 * blob's own bytes hashed on the way so the digest is checked again here (the cache file could have changed since
 * it was verified). Every stage is joined with `pipeline`, so a corrupt gzip is an error of the whole stream, never
 * an unhandled 'error' event of one stage.
 */
import { createReadStream, promises as fsp } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { compressionOf, zstdDecompressor, type Compression } from '../../oci/decompress.js';
import { Transform, type TransformCallback, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EcrxError } from '../../core/errors.js';
import { HashingStream } from '../../core/digest.js';

export interface LayerBlob {
  digest: string;
  size: number;
  path: string;
}

/**
 * Some writers (umoci's insert among them) end a layer right after the last file's bytes, without the block padding
 * and end-of-archive blocks. Tools tolerate that; so does ecrx, by completing the stream with zeros.
 */
class TarCompleter extends Transform {
  private bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    cb(null, Buffer.alloc(((512 - (this.bytes % 512)) % 512) + 1024));
  }
}

async function sniff(path: string): Promise<Compression> {
  const fh = await fsp.open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    return compressionOf(head.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

/** The error a stream gets when its consumer stopped it (the extractor, after an entry failed): not the bytes' fault. */
export const isStopped = (err: unknown) => (err as NodeJS.ErrnoException)?.code === 'ERR_STREAM_PREMATURE_CLOSE';

/**
 * Streams layer `n` (1-based, for messages) into `sink` (a tar extractor). Rejects with INVALID_IMAGE when the
 * bytes are not a readable (gzipped) tar, DIGEST_MISMATCH when they are not the blob the manifest names.
 */
export async function streamLayer(layer: LayerBlob, n: number, sink: Writable, signal?: AbortSignal): Promise<void> {
  const kind = await sniff(layer.path);
  const hashing = new HashingStream();
  const stages = [
    createReadStream(layer.path, { highWaterMark: 1 << 20 }),
    hashing,
    ...(kind === 'gzip' ? [createGunzip()] : kind === 'zstd' ? [zstdDecompressor()] : []),
    new TarCompleter(),
    sink,
  ];
  try {
    await (pipeline as (...s: unknown[]) => Promise<void>)(...stages, { signal });
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    if (err instanceof EcrxError || isStopped(err)) throw err;
    throw new EcrxError(
      'INVALID_IMAGE',
      `Layer ${n} (${layer.digest}) is not a readable ${kind === 'none' ? '' : `${kind}-compressed `}tar: ${(err as Error).message}`,
      {
        hint: 'The image is damaged or was built by a broken tool; rebuild and push it again.',
        cause: err,
      },
    );
  }
  const actual = hashing.digest();
  if (actual !== layer.digest || hashing.bytes !== layer.size) {
    throw new EcrxError(
      'DIGEST_MISMATCH',
      `Layer ${n} read from the cache is not ${layer.digest} (got ${actual}, ${hashing.bytes} bytes)`,
      {
        hint: 'The blob cache was changed on disk; run `ecrx cache verify`, then export again.',
        details: { expected: layer.digest, actual, expectedSize: layer.size, actualSize: hashing.bytes },
      },
    );
  }
}
