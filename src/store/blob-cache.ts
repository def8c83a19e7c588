/**
 * The local content-addressable blob cache shared by every command and every ecrx process: `blobs-v1/sha256/<hex>`.
 * A blob appears under its digest only after its bytes were verified, by renaming a temporary file written next to
 * it, so a crash or a concurrent writer never makes a partial blob visible, and two writers of the same blob both
 * end with the same complete file.
 *
 * A name is not a proof: a blob can be changed in place after it was verified (a disk error, a stray edit). So a
 * blob is hashed again whenever it is used (hashing runs at GB/s; see hasVerified and readBytes), a blob that no
 * longer matches its name is removed and counts as missing, and callers fetch it again. Nothing outside the cache
 * ever shares a cached blob's inode: outputs get copies (src/sinks/place.ts).
 */
import type { BlobStore } from './blob-store.js';
import { lstatSync, mkdirSync, promises as fsp, readdirSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../core/atomic-write.js';
import { fileDigest, SHA256_DIGEST, SHA256_HEX, sha256Digest } from '../core/digest.js';
import { EcrxError } from '../core/errors.js';
import { isAlive } from '../core/pid.js';
import { PartialStore } from './partials.js';

export function defaultCacheDir(): string {
  if (process.env.ECRX_CACHE_DIR) return process.env.ECRX_CACHE_DIR;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'ecrx');
}

/** Temporary files older than this are from crashed runs and may be swept. */
const STALE_TMP_MS = 24 * 3600 * 1000;
/** What tmpPath makes: `<label>.<pid>.<12 hex>.tmp`. Only such names are ever swept from tmp/. */
const TMP_NAME = /^[A-Za-z0-9_-]+\.(\d+)\.[0-9a-f]{12}\.tmp$/;

export interface CachedBlob {
  digest: string;
  size: number;
  path: string;
  mtimeMs: number;
  atimeMs: number;
}

/** Something in the blobs directory that is not a blob: a directory, a link, a FIFO, an odd name. */
export interface CacheJunk {
  name: string;
  kind: string;
}

/** A cached blob whose bytes no longer match its digest. It has already been removed from the cache. */
export class CorruptBlobError extends EcrxError {
  /** `actual` is undefined when the blob vanished from the cache while in use (a concurrent prune). */
  constructor(
    readonly digest: string,
    readonly actual?: string,
  ) {
    super(
      'DIGEST_MISMATCH',
      actual
        ? `The cached copy of ${digest} was corrupt (its content hashes to ${actual}); it was removed from the cache`
        : `The cached copy of ${digest} was removed from the cache while in use`,
      {
        details: { expected: digest, ...(actual ? { actual } : {}) },
        hint: 'Run the same command again: the blob is downloaded afresh. `ecrx cache verify` checks the whole cache.',
      },
    );
  }
}

export function kindOf(st: {
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
}): string {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symbolic link';
  if (st.isFIFO()) return 'FIFO';
  if (st.isSocket()) return 'socket';
  return 'device';
}

export class BlobCache implements BlobStore {
  readonly blobsDir: string;
  readonly tmpDir: string;
  readonly indexDir: string;

  /** `create: false` opens without creating anything (for commands that only look, like `cache ls`). */
  constructor(
    readonly root: string,
    opts: { create?: boolean } = {},
  ) {
    this.blobsDir = join(root, 'blobs-v1', 'sha256');
    this.tmpDir = join(root, 'tmp');
    this.indexDir = join(root, 'index-v1');
    if (opts.create ?? true) for (const dir of [this.blobsDir, this.tmpDir]) makeDir(dir, root);
  }

  /** Unfinished downloads kept for the next run (`partial-v1/`). */
  get partials(): PartialStore {
    return new PartialStore(this.root);
  }

  /** Whether the cache's blobs directory exists (a cache opened with create: false may not). */
  exists(): boolean {
    try {
      return lstatSync(this.blobsDir).isDirectory();
    } catch {
      return false;
    }
  }

  path(digest: string): string {
    if (!SHA256_DIGEST.test(digest)) throw new Error(`not a sha256 digest: ${digest}`);
    return join(this.blobsDir, digest.slice(7));
  }

  /**
   * The blob's size when a regular file of that name (and, given `size`, of that size) is present; undefined
   * otherwise. Cheap and unverified: use hasVerified or readBytes before trusting the bytes.
   */
  sizeOf(digest: string, size?: number): number | undefined {
    try {
      const st = lstatSync(this.path(digest));
      if (!st.isFile() || (size !== undefined && st.size !== size)) return undefined;
      return st.size;
    } catch {
      return undefined;
    }
  }

  has(digest: string, size?: number): boolean {
    return this.sizeOf(digest, size) !== undefined;
  }

  /**
   * Present and still matching its digest. A blob that does not match is removed (and reported through
   * `onCorrupt`), so the caller treats it as missing and fetches it again: the cache heals itself.
   */
  async hasVerified(
    digest: string,
    size?: number,
    opts: { signal?: AbortSignal; onCorrupt?: (digest: string, actual: string) => void } = {},
  ): Promise<boolean> {
    if (!this.has(digest, size)) return false;
    let actual: string;
    try {
      actual = await fileDigest(this.path(digest), opts.signal);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false; // removed meanwhile by a prune
      throw err;
    }
    if (actual === digest) return true;
    await this.remove(digest);
    opts.onCorrupt?.(digest, actual);
    return false;
  }

  /** A fresh, unique temporary path on the cache's file system. */
  tmpPath(label = 'blob'): string {
    return join(this.tmpDir, `${label}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  }

  /** Moves a verified temporary file into place under its digest. */
  async commit(tmpFile: string, digest: string): Promise<string> {
    const dest = this.path(digest);
    await fsp.rename(tmpFile, dest);
    return dest;
  }

  /**
   * Writes small bytes (manifests, configs) through the same verify-then-rename path. Always written, even when
   * a blob of that name is there: it costs little, and replaces a copy that may have gone bad.
   */
  async putBytes(data: Buffer, digest?: string): Promise<string> {
    const actual = sha256Digest(data);
    if (digest && digest !== actual) throw new Error(`bytes do not match ${digest}`);
    await writeFileAtomic(this.path(actual), data, { tmp: this.tmpPath() });
    return actual;
  }

  /** A small blob's bytes, checked against its digest; a corrupt copy is removed and CorruptBlobError thrown. */
  async readBytes(digest: string): Promise<Buffer> {
    const bytes = await fsp.readFile(this.path(digest));
    const actual = sha256Digest(bytes);
    if (actual !== digest) {
      await this.remove(digest);
      throw new CorruptBlobError(digest, actual);
    }
    return bytes;
  }

  /** Every blob in the cache, and everything else found where blobs live (never followed, never a blob). */
  scan(): { blobs: CachedBlob[]; junk: CacheJunk[] } {
    const blobs: CachedBlob[] = [];
    const junk: CacheJunk[] = [];
    let names: string[];
    try {
      names = readdirSync(this.blobsDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { blobs, junk };
      throw err;
    }
    for (const name of names) {
      const path = join(this.blobsDir, name);
      try {
        const st = lstatSync(path);
        if (st.isFile() && SHA256_HEX.test(name))
          blobs.push({ digest: `sha256:${name}`, size: st.size, path, mtimeMs: st.mtimeMs, atimeMs: st.atimeMs });
        else junk.push({ name, kind: st.isFile() ? 'file with a name that is not a digest' : kindOf(st) });
      } catch {
        // removed by a concurrent prune
      }
    }
    return { blobs, junk };
  }

  list(): CachedBlob[] {
    return this.scan().blobs;
  }

  /** Re-hashes a cached blob. */
  async verify(digest: string): Promise<{ ok: boolean; actual: string }> {
    const actual = await fileDigest(this.path(digest));
    return { ok: actual === digest, actual };
  }

  async remove(digest: string): Promise<void> {
    await fsp.rm(this.path(digest), { force: true });
  }

  /** Removes a junk entry of the blobs directory (a link is removed, never followed). */
  async removeJunk(name: string): Promise<void> {
    if (name.includes('/') || name === '.' || name === '..') throw new Error(`not an entry name: ${name}`);
    await fsp.rm(join(this.blobsDir, name), { recursive: true, force: true });
  }

  /**
   * Removes temporary files that crashed runs left behind (never those of a run still going). Only regular files
   * named the way tmpPath names them: anything else in tmp/ is not ours to remove.
   */
  sweepStaleTemp(now = Date.now()): number {
    let removed = 0;
    let names: string[];
    try {
      names = readdirSync(this.tmpDir);
    } catch {
      return 0; // no tmp/ (a cache opened without creating it), or not a directory
    }
    for (const name of names) {
      const m = TMP_NAME.exec(name);
      if (!m) continue;
      const path = join(this.tmpDir, name);
      try {
        const st = lstatSync(path);
        if (!st.isFile()) continue;
        const owned = isAlive(Number(m[1]));
        if (!owned || now - st.mtimeMs > STALE_TMP_MS) {
          rmSync(path, { force: true });
          removed++;
        }
      } catch {
        // already gone
      }
    }
    return removed;
  }

  /** Remembers a mapping (e.g. uncompressed digest -> compressed digest) in the cache's index. */
  async setIndex(kind: string, key: string, value: string): Promise<void> {
    const dir = join(this.indexDir, kind);
    await fsp.mkdir(dir, { recursive: true });
    await writeFileAtomic(join(dir, key.replace(/[^a-zA-Z0-9_.-]/g, '_')), value, { tmp: this.tmpPath('index') });
  }

  async getIndex(kind: string, key: string): Promise<string | undefined> {
    try {
      return (await fsp.readFile(join(this.indexDir, kind, key.replace(/[^a-zA-Z0-9_.-]/g, '_')), 'utf8')).trim();
    } catch {
      return undefined;
    }
  }
}

function makeDir(dir: string, root: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOTDIR') throw err;
    throw new EcrxError(
      'OUTPUT_ERROR',
      `The blob cache at ${root} cannot be used: ${dir} or a directory above it is not a directory`,
      {
        hint: 'Point --cache-dir (or ECRX_CACHE_DIR) at another directory, or move the file that is in the way.',
        cause: err,
      },
    );
  }
}
