/**
 * The local content-addressable blob cache shared by every command and every ecrx process: `blobs-v1/sha256/<hex>`.
 * A blob appears under its digest only after its bytes were verified, by renaming a temporary file written next to
 * it, so a crash or a concurrent writer never makes a partial blob visible, and two writers of the same blob both
 * end with the same complete file.
 */
import { mkdirSync, promises as fsp, readdirSync, statSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileDigest } from '../core/digest.js';

export function defaultCacheDir(): string {
  if (process.env.ECRX_CACHE_DIR) return process.env.ECRX_CACHE_DIR;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'ecrx');
}

/** Temporary files older than this are from crashed runs and may be swept. */
const STALE_TMP_MS = 24 * 3600 * 1000;

export interface CachedBlob {
  digest: string;
  size: number;
  path: string;
  mtimeMs: number;
  atimeMs: number;
}

export class BlobCache {
  readonly blobsDir: string;
  readonly tmpDir: string;
  readonly indexDir: string;

  constructor(readonly root: string) {
    this.blobsDir = join(root, 'blobs-v1', 'sha256');
    this.tmpDir = join(root, 'tmp');
    this.indexDir = join(root, 'index-v1');
    mkdirSync(this.blobsDir, { recursive: true });
    mkdirSync(this.tmpDir, { recursive: true });
  }

  path(digest: string): string {
    if (!/^sha256:[a-f0-9]{64}$/.test(digest)) throw new Error(`not a sha256 digest: ${digest}`);
    return join(this.blobsDir, digest.slice(7));
  }

  /** The blob's size when it is present (and, given `size`, of that size); undefined otherwise. */
  sizeOf(digest: string, size?: number): number | undefined {
    try {
      const st = statSync(this.path(digest));
      if (!st.isFile() || (size !== undefined && st.size !== size)) return undefined;
      return st.size;
    } catch {
      return undefined;
    }
  }

  has(digest: string, size?: number): boolean {
    return this.sizeOf(digest, size) !== undefined;
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

  /** Writes small bytes (manifests, configs) through the same verify-then-rename path. */
  async putBytes(data: Buffer, digest?: string): Promise<string> {
    const actual = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    if (digest && digest !== actual) throw new Error(`bytes do not match ${digest}`);
    if (this.has(actual, data.length)) return actual;
    const tmp = this.tmpPath();
    await fsp.writeFile(tmp, data);
    await this.commit(tmp, actual);
    return actual;
  }

  async readBytes(digest: string): Promise<Buffer> {
    return fsp.readFile(this.path(digest));
  }

  /** Every blob in the cache. */
  list(): CachedBlob[] {
    const out: CachedBlob[] = [];
    for (const name of readdirSync(this.blobsDir)) {
      if (!/^[a-f0-9]{64}$/.test(name)) continue;
      const path = join(this.blobsDir, name);
      try {
        const st = statSync(path);
        out.push({ digest: `sha256:${name}`, size: st.size, path, mtimeMs: st.mtimeMs, atimeMs: st.atimeMs });
      } catch {
        // removed by a concurrent prune
      }
    }
    return out;
  }

  /** Re-hashes a cached blob. */
  async verify(digest: string): Promise<{ ok: boolean; actual: string }> {
    const actual = await fileDigest(this.path(digest));
    return { ok: actual === digest, actual };
  }

  async remove(digest: string): Promise<void> {
    await fsp.rm(this.path(digest), { force: true });
  }

  /** Removes temporary files that crashed runs left behind (never those of a run still going). */
  sweepStaleTemp(now = Date.now()): number {
    let removed = 0;
    for (const name of readdirSync(this.tmpDir)) {
      const path = join(this.tmpDir, name);
      try {
        const st = statSync(path);
        const pid = Number(name.split('.')[1]);
        const owned = Number.isInteger(pid) && pid > 0 && isAlive(pid);
        if (!owned || now - st.mtimeMs > STALE_TMP_MS) {
          void fsp.rm(path, { force: true, recursive: true });
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
    const tmp = this.tmpPath('index');
    await fsp.writeFile(tmp, value);
    await fsp.rename(tmp, join(dir, key.replace(/[^a-zA-Z0-9_.-]/g, '_')));
  }

  async getIndex(kind: string, key: string): Promise<string | undefined> {
    try {
      return (await fsp.readFile(join(this.indexDir, kind, key.replace(/[^a-zA-Z0-9_.-]/g, '_')), 'utf8')).trim();
    } catch {
      return undefined;
    }
  }
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
