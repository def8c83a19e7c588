/**
 * Decompressing a layer by what it is, told by its first bytes (media types lie more often than magic numbers):
 * gzip, zstd, or a plain tar. zstd uses node:zlib where the runtime has it (Node 22.15 and later) and otherwise
 * fzstd, a pure-JavaScript decoder shipped in its npm tarball, so `ecrx export` unpacks zstd layers on Node 20 too.
 */
import * as zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { Transform, type TransformCallback } from 'node:stream';
import { EcrxError } from '../core/errors.js';

export type Compression = 'gzip' | 'zstd' | 'none';
export type ZstdImplementation = 'auto' | 'native' | 'package';

const ZSTD_MAGIC = 0xfd2fb528;

/** Whether bytes begin with gzip's magic number (1f 8b): the one gzip test in ecrx. */
export const isGzip = (head: Uint8Array): boolean => head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;

/** What the first bytes of a blob say it is (at least 4 bytes for zstd; fewer just read as plain). */
export function compressionOf(head: Uint8Array): Compression {
  if (isGzip(head)) return 'gzip';
  if (head.length >= 4 && Buffer.from(head.buffer, head.byteOffset, 4).readUInt32LE(0) === ZSTD_MAGIC) return 'zstd';
  return 'none';
}

/** node:zlib's zstd decoder, which only Node 22.15+ / 23.8+ have (and @types/node for Node 20 does not declare). */
const zstdOfZlib = (zlib as { createZstdDecompress?: () => Transform }).createZstdDecompress;

/** Whether this runtime's zlib decodes zstd (Node 22.15+, 23.8+). */
export function hasNativeZstd(): boolean {
  return typeof zstdOfZlib === 'function';
}

const corrupt = (err: unknown) =>
  new EcrxError(
    'INVALID_IMAGE',
    `A zstd-compressed layer could not be decompressed: ${(err as Error)?.message ?? err}`,
    {
      hint: 'The blob matched its digest, so the image itself holds a broken or unsupported zstd stream; rebuild or re-push it.',
      cause: err,
    },
  );

/** fzstd behind the stream interface; its chunks are copied because the decoder reuses its window buffer. */
class PackageZstd extends Transform {
  private readonly decoder: { push(chunk: Uint8Array, final?: boolean): unknown };

  constructor() {
    super();
    const { Decompress } = createRequire(import.meta.url)('fzstd') as typeof import('fzstd');
    this.decoder = new Decompress((data) => {
      if (data.length) this.push(Buffer.from(data));
    });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.decoder.push(chunk);
      cb();
    } catch (err) {
      cb(corrupt(err));
    }
  }

  override _flush(cb: TransformCallback): void {
    try {
      this.decoder.push(new Uint8Array(0), true);
      cb();
    } catch (err) {
      cb(corrupt(err));
    }
  }
}

function nativeZstd(): Transform {
  if (!zstdOfZlib) throw new Error('node:zlib has no zstd');
  const z = zstdOfZlib();
  // zlib reports a bad stream through destroy(); rename it there so every path fails the same way.
  const destroyImpl = z._destroy.bind(z);
  z._destroy = (err, cb) => destroyImpl(err ? corrupt(err) : err, cb);
  return z;
}

/** A stream that decompresses zstd: node:zlib when available ('auto'), or the one asked for. */
export function zstdDecompressor(impl: ZstdImplementation = 'auto'): Transform {
  if (impl === 'native' || (impl === 'auto' && hasNativeZstd())) {
    if (!hasNativeZstd())
      throw new EcrxError(
        'INTERNAL_ERROR',
        `Node.js ${process.version} has no zstd in node:zlib (it needs 22.15 or later)`,
      );
    return nativeZstd();
  }
  return new PackageZstd();
}

/** The decompressing stream for a blob whose first bytes are `head`, or undefined when it is not compressed. */
export function decompressorFor(head: Uint8Array, impl: ZstdImplementation = 'auto'): Transform | undefined {
  switch (compressionOf(head)) {
    case 'gzip':
      return zlib.createGunzip();
    case 'zstd':
      return zstdDecompressor(impl);
    default:
      return undefined;
  }
}

/**
 * `a.pipe(b).pipe(c)` that also fails `c` when `a` or `b` fails: .pipe() forwards data but not errors, and a reader
 * of `c` would otherwise wait forever on a corrupt stream.
 */
export function chain<T extends NodeJS.ReadWriteStream | NodeJS.WritableStream>(
  source: NodeJS.ReadableStream,
  ...rest: [...NodeJS.ReadWriteStream[], T]
): T {
  const last = rest[rest.length - 1] as unknown as { destroy(err?: Error): void };
  let prev: NodeJS.ReadableStream = source;
  for (const s of rest) {
    prev.on('error', (err: Error) => last.destroy(err));
    prev = prev.pipe(s as NodeJS.WritableStream) as unknown as NodeJS.ReadableStream;
  }
  return rest[rest.length - 1] as T;
}
