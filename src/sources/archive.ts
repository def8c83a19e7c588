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
import type { BlobCache } from '../store/blob-cache.js';
import { HashingStream } from '../core/digest.js';
import { checkDocumentSize, MAX_METADATA_BYTES } from '../oci/limits.js';

export interface IngestedArchive {
  /** The archive's own metadata (index.json, manifest.json) by normalized path, in memory, each size-capped. */
  files: Map<string, Buffer>;
  /** Files whose content is in the cache, by normalized path: `blobs/sha256/<hex>` entries, verified on the way in. */
  blobs: Map<string, { digest: string; size: number }>;
  /**
   * Other regular files that might be needed (a classic docker-archive's config and layers), on disk under a
   * temporary name with their digest: claimArchiveFile moves one into the cache, releaseArchive removes the rest.
   */
  spilled: Map<string, { tmp: string; digest: string; size: number }>;
  /** Symbolic and hard links: path -> normalized target path. */
  links: Map<string, string>;
}

const BLOB_NAME = /^blobs\/sha256\/([a-f0-9]{64})$/;
/** The only entries ever held in memory: what says what the archive is and what is in it. */
const METADATA = new Set(['index.json', 'manifest.json']);

/** Normalizes an entry name; refuses absolute paths and `..`. */
export function safeEntryName(name: string): string {
  const trimmed = name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  if (trimmed.startsWith('/') || trimmed.split('/').includes('..')) {
    throw new EcrxError('INVALID_IMAGE', `The archive has an unsafe path '${name}' (absolute or with ..)`, {
      hint: 'This is not an image archive that docker save, skopeo or ecrx would write; refusing it.',
    });
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

/**
 * Which regular files (other than blobs/ and metadata) are worth keeping, as far as the metadata read so far says:
 * undefined while nothing says (keep everything, on disk), else exactly the set a docker-archive's manifest.json
 * names (and the targets of links among them). With an index.json, the layout's blobs are all that is needed.
 */
function wantedFiles(a: IngestedArchive): Set<string> | undefined {
  if (a.files.has('index.json')) return new Set();
  const manifest = a.files.get('manifest.json');
  if (!manifest) return undefined;
  let entries: unknown;
  try {
    entries = JSON.parse(manifest.toString('utf8'));
  } catch {
    return undefined; // refused with a proper message once the archive is read
  }
  if (!Array.isArray(entries)) return undefined;
  const wanted = new Set<string>();
  for (const e of entries) {
    for (const p of [e?.Config, ...(Array.isArray(e?.Layers) ? e.Layers : [])]) {
      if (typeof p !== 'string') continue;
      try {
        wanted.add(resolveArchivePath(a, p));
        wanted.add(safeEntryName(p));
      } catch {
        // an unsafe path is refused later, where it is used
      }
    }
  }
  return wanted;
}

async function drain(entry: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of entry) void _;
}

/** Streams an entry to a temporary file in the cache's directory while hashing it. */
async function spill(entry: AsyncIterable<Buffer>, tmp: string): Promise<{ digest: string; bytes: number }> {
  const hasher = new HashingStream();
  await pipeline(entry, hasher, createWriteStream(tmp));
  return { digest: hasher.digest(), bytes: hasher.bytes };
}

export async function ingestArchive(
  input: Readable,
  cache: BlobCache,
  opts: { signal?: AbortSignal; onBytes?: (n: number) => void; where: string },
): Promise<IngestedArchive> {
  const head = await peek(input, 512);
  if (head.length === 0)
    throw new EcrxError('INVALID_IMAGE', `${opts.where} is empty`, {
      hint: 'Give an OCI layout directory, an OCI archive or a docker-archive (docker save output).',
    });
  let source: Readable = input;
  if (head[0] === 0x1f && head[1] === 0x8b) source = input.pipe(createGunzip());
  else if (head.length < 262 || head.subarray(257, 262).toString('latin1') !== 'ustar') {
    throw new EcrxError('INVALID_IMAGE', `${opts.where} is not a tar archive`, {
      hint: 'Give an OCI layout directory, an OCI archive or a docker-archive (docker save output).',
    });
  }

  const tar = await import('tar-stream');
  const extract = tar.extract();
  const result: IngestedArchive = { files: new Map(), blobs: new Map(), spilled: new Map(), links: new Map() };
  // Memory stays bounded whatever the archive holds: only the metadata files (capped) are held; blobs stream into
  // the cache, other files that may be needed stream to disk, and files known not to be needed are skipped.
  let wanted: Set<string> | undefined;
  const consume = (async () => {
    for await (const entry of extract) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      const h = entry.header;
      const name = safeEntryName(h.name);
      if (h.type === 'symlink' || h.type === 'link') {
        const target =
          h.type === 'symlink'
            ? posix.normalize(posix.join(posix.dirname(name), h.linkname ?? ''))
            : safeEntryName(h.linkname ?? '');
        if (target.startsWith('..') || target.startsWith('/'))
          throw new EcrxError('INVALID_IMAGE', `The archive links ${name} outside itself (${h.linkname})`);
        result.links.set(name, target);
        if (wanted?.has(name)) wanted.add(target);
        await drain(entry);
        continue;
      }
      if (h.type !== 'file' && h.type !== 'contiguous-file') {
        await drain(entry);
        continue;
      }
      const size = h.size ?? 0;
      if (METADATA.has(name)) {
        checkDocumentSize(size, MAX_METADATA_BYTES, `${opts.where}: ${name}`);
        const chunks: Buffer[] = [];
        for await (const c of entry) chunks.push(c as Buffer);
        result.files.set(name, Buffer.concat(chunks));
        wanted = wantedFiles(result);
        continue;
      }
      const blobName = BLOB_NAME.exec(name);
      if (!blobName) {
        if (wanted && !wanted.has(name)) {
          await drain(entry);
          continue;
        }
        const tmp = cache.tmpPath('ingest');
        result.spilled.set(name, { tmp, digest: '', size });
        const got = await spill(entry as AsyncIterable<Buffer>, tmp);
        if (got.bytes !== size)
          throw new EcrxError('INVALID_IMAGE', `${opts.where}: ${name} is truncated (${got.bytes} of ${size} bytes)`);
        result.spilled.set(name, { tmp, digest: got.digest, size });
        opts.onBytes?.(size);
        continue;
      }
      if (await cache.hasVerified(`sha256:${blobName[1]}`, size, { signal: opts.signal })) {
        // Already cached and re-hashed: a cached copy gone bad was removed, and is taken from the archive below.
        await drain(entry);
        opts.onBytes?.(size);
        result.blobs.set(name, { digest: `sha256:${blobName[1]}`, size });
        continue;
      }
      const tmp = cache.tmpPath('ingest');
      try {
        const got = await spill(entry as AsyncIterable<Buffer>, tmp);
        if (got.bytes !== size)
          throw new EcrxError('INVALID_IMAGE', `${opts.where}: ${name} is truncated (${got.bytes} of ${size} bytes)`);
        if (got.digest !== `sha256:${blobName[1]}`) {
          throw new EcrxError(
            'INVALID_IMAGE',
            `${opts.where}: ${name} does not match its digest (its content hashes to ${got.digest})`,
            { details: { expected: `sha256:${blobName[1]}`, actual: got.digest } },
          );
        }
        await cache.commit(tmp, got.digest);
        opts.onBytes?.(size);
        result.blobs.set(name, { digest: got.digest, size });
      } finally {
        await fsp.rm(tmp, { force: true });
      }
    }
  })();
  try {
    await Promise.all([pipeline(source, extract), consume]);
  } catch (err) {
    extract.destroy();
    await releaseArchive(result);
    if (err instanceof EcrxError) throw err;
    if (opts.signal?.aborted) throw opts.signal.reason;
    const msg = (err as Error)?.message ?? String(err);
    throw new EcrxError('INVALID_IMAGE', `${opts.where} could not be read as a tar archive: ${msg}`, {
      hint: 'The archive may be truncated or corrupt; create it again.',
      cause: err,
    });
  }
  return result;
}

/**
 * The cached blob an archive path holds (links followed): a spilled file is moved into the cache under its
 * digest on first use. Undefined when the archive has no such file.
 */
export async function claimArchiveFile(
  a: IngestedArchive,
  cache: BlobCache,
  path: string,
): Promise<{ digest: string; size: number } | undefined> {
  const real = resolveArchivePath(a, path);
  const known = a.blobs.get(real);
  if (known) return known;
  const spilled = a.spilled.get(real);
  if (!spilled || !spilled.digest) return undefined;
  if (cache.has(spilled.digest, spilled.size)) await fsp.rm(spilled.tmp, { force: true });
  else await cache.commit(spilled.tmp, spilled.digest);
  a.spilled.delete(real);
  const blob = { digest: spilled.digest, size: spilled.size };
  a.blobs.set(real, blob);
  return blob;
}

/** Removes the temporary files of everything spilled and never claimed. */
export async function releaseArchive(a: IngestedArchive): Promise<void> {
  await Promise.all([...a.spilled.values()].map((s) => fsp.rm(s.tmp, { force: true })));
  a.spilled.clear();
}

/** Follows links to the file an archive path really holds. */
export function resolveArchivePath(a: IngestedArchive, path: string): string {
  let p = safeEntryName(path);
  for (let i = 0; i < 16 && a.links.has(p); i++) p = a.links.get(p)!;
  return p;
}
