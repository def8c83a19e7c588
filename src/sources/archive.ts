/**
 * Ingesting a tar archive (OCI archive, docker-archive, plain or gzip-compressed, from a file or stdin) in one
 * pass: every blob-sized file streams into the blob cache while its sha256 is computed, `blobs/sha256/<hex>`
 * entries must hash to their name, and the small metadata files are kept in memory. A tar cannot be read twice,
 * so after this the archive is never touched again.
 */
import { createWriteStream, promises as fsp } from 'node:fs';
import { posix } from 'node:path';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EcrxError } from '../core/errors.js';
import type { BlobCache } from '../cache/blob-cache.js';
import { HashingStream } from '../core/digest.js';

export interface IngestedArchive {
  /** Small files (JSON metadata) by normalized path. */
  files: Map<string, Buffer>;
  /** Large files by normalized path: their digest and size, content now in the cache. */
  blobs: Map<string, { digest: string; size: number }>;
  /** Symbolic and hard links: path -> normalized target path. */
  links: Map<string, string>;
}

const SMALL_FILE = 4 * 1024 * 1024;
const BLOB_NAME = /^blobs\/sha256\/([a-f0-9]{64})$/;

/** Normalizes an entry name; refuses absolute paths and `..`. */
export function safeEntryName(name: string): string {
  const trimmed = name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  if (trimmed.startsWith('/') || trimmed.split('/').includes('..')) {
    throw new EcrxError('INVALID_IMAGE', `The archive has an unsafe path '${name}' (absolute or with ..)`, { hint: 'This is not an image archive that docker save, skopeo or ecrx would write; refusing it.' });
  }
  return posix.normalize(trimmed);
}

/** Peeks at the first bytes of a stream without consuming them. */
async function peek(input: Readable, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let got = 0;
  for await (const chunk of input.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    got += chunk.length;
    if (got >= n) break;
  }
  const head = Buffer.concat(chunks);
  if (head.length) input.unshift(head);
  return head;
}

export async function ingestArchive(input: Readable, cache: BlobCache, opts: { signal?: AbortSignal; onBytes?: (n: number) => void; where: string }): Promise<IngestedArchive> {
  const head = await peek(input, 512);
  if (head.length === 0) throw new EcrxError('INVALID_IMAGE', `${opts.where} is empty`, { hint: 'Give an OCI layout directory, an OCI archive or a docker-archive (docker save output).' });
  let source: Readable = input;
  if (head[0] === 0x1f && head[1] === 0x8b) source = input.pipe(createGunzip());
  else if (head.length < 262 || head.subarray(257, 262).toString('latin1') !== 'ustar') {
    throw new EcrxError('INVALID_IMAGE', `${opts.where} is not a tar archive`, { hint: 'Give an OCI layout directory, an OCI archive or a docker-archive (docker save output).' });
  }

  const tar = await import('tar-stream');
  const extract = tar.extract();
  const result: IngestedArchive = { files: new Map(), blobs: new Map(), links: new Map() };
  const consume = (async () => {
    for await (const entry of extract) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      const h = entry.header;
      const name = safeEntryName(h.name);
      if (h.type === 'symlink' || h.type === 'link') {
        const target = h.type === 'symlink' ? posix.normalize(posix.join(posix.dirname(name), h.linkname ?? '')) : safeEntryName(h.linkname ?? '');
        if (target.startsWith('..') || target.startsWith('/')) throw new EcrxError('INVALID_IMAGE', `The archive links ${name} outside itself (${h.linkname})`);
        result.links.set(name, target);
        for await (const _ of entry) void _;
        continue;
      }
      if (h.type !== 'file' && h.type !== 'contiguous-file') {
        for await (const _ of entry) void _;
        continue;
      }
      const size = h.size ?? 0;
      const blobName = BLOB_NAME.exec(name);
      if (!blobName && size <= SMALL_FILE && !name.endsWith('layer.tar')) {
        const chunks: Buffer[] = [];
        for await (const c of entry) chunks.push(c as Buffer);
        result.files.set(name, Buffer.concat(chunks));
        continue;
      }
      if (blobName && (await cache.hasVerified(`sha256:${blobName[1]}`, size, { signal: opts.signal }))) {
        // Already cached and re-hashed: a cached copy gone bad was removed, and is taken from the archive below.
        for await (const _ of entry) void _;
        opts.onBytes?.(size);
        result.blobs.set(name, { digest: `sha256:${blobName[1]}`, size });
        continue;
      }
      const tmp = cache.tmpPath('ingest');
      const hasher = new HashingStream();
      try {
        await pipeline(entry, hasher, createWriteStream(tmp));
        const digest = hasher.digest();
        if (hasher.bytes !== size) throw new EcrxError('INVALID_IMAGE', `${opts.where}: ${name} is truncated (${hasher.bytes} of ${size} bytes)`);
        if (blobName && digest !== `sha256:${blobName[1]}`) {
          throw new EcrxError('INVALID_IMAGE', `${opts.where}: ${name} does not match its digest (its content hashes to ${digest})`, { details: { expected: `sha256:${blobName[1]}`, actual: digest } });
        }
        await cache.commit(tmp, digest);
        opts.onBytes?.(size);
        result.blobs.set(name, { digest, size });
      } finally {
        await fsp.rm(tmp, { force: true });
      }
    }
  })();
  try {
    await Promise.all([pipeline(source, extract), consume]);
  } catch (err) {
    extract.destroy();
    if (err instanceof EcrxError) throw err;
    if (opts.signal?.aborted) throw opts.signal.reason;
    const msg = (err as Error)?.message ?? String(err);
    throw new EcrxError('INVALID_IMAGE', `${opts.where} could not be read as a tar archive: ${msg}`, { hint: 'The archive may be truncated or corrupt; create it again.', cause: err });
  }
  return result;
}

/** Follows links to the file an archive path really holds. */
export function resolveArchivePath(a: IngestedArchive, path: string): string {
  let p = safeEntryName(path);
  for (let i = 0; i < 16 && a.links.has(p); i++) p = a.links.get(p)!;
  return p;
}
