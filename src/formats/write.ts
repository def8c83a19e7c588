/**
 * Writes entries as a directory or a tar. Both are built under a temporary name beside the target and renamed
 * into place only when complete, so an interrupted run never leaves something that looks whole; an existing
 * target is replaced only on success.
 */
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import type { Entry } from './entries.js';

const tmpSibling = (target: string, what: string) => join(dirname(target), `.${basename(target)}.ecrx-${what}-${process.pid}-${randomBytes(4).toString('hex')}`);

async function exists(path: string): Promise<boolean> {
  try {
    await fsp.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Renames `tmp` to `target`, replacing what was there only now that the new one is complete. */
async function replace(tmp: string, target: string): Promise<void> {
  const st = await fsp.lstat(target).catch(() => undefined);
  if (!st) {
    await fsp.rename(tmp, target);
    return;
  }
  if (!st.isDirectory()) {
    await fsp.rename(tmp, target); // atomic for files; a directory tmp over a file fails loudly, as it should
    return;
  }
  const old = tmpSibling(target, 'old');
  await fsp.rename(target, old);
  try {
    await fsp.rename(tmp, target);
  } catch (err) {
    await fsp.rename(old, target).catch(() => undefined);
    throw err;
  }
  await fsp.rm(old, { recursive: true, force: true });
}

/** Hard-links a cached blob when the file system allows (no copy, no extra space), copies otherwise. */
async function placeFile(src: string, dest: string): Promise<void> {
  try {
    await fsp.link(src, dest);
  } catch {
    await fsp.copyFile(src, dest);
  }
}

export async function writeDirectory(entries: Entry[], target: string, cleanup: string[] = []): Promise<void> {
  const tmp = tmpSibling(target, 'tmp');
  cleanup.push(tmp);
  // Not recursive: the parent must exist (and Node's recursive mkdir can spin forever on /proc-like file systems).
  await fsp.mkdir(tmp);
  try {
    const made = new Set<string>();
    for (const e of entries) {
      const dest = join(tmp, e.path);
      const dir = dirname(dest);
      if (!made.has(dir)) {
        await fsp.mkdir(dir, { recursive: true });
        made.add(dir);
      }
      if ('bytes' in e) await fsp.writeFile(dest, e.bytes);
      else await placeFile(e.file, dest);
    }
    await replace(tmp, target);
  } catch (err) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Streams entries as a tar (tar-stream) into `out`. */
export async function writeTar(entries: Entry[], out: Writable): Promise<void> {
  const tar = await import('tar-stream');
  const pack = tar.pack();
  const done = pipeline(pack, out);
  const mtime = new Date(0);
  const dirs = new Set<string>();
  try {
    for (const e of entries) {
      // Parent directories first, as docker save writes them.
      const parts = e.path.split('/');
      for (let i = 1; i < parts.length; i++) {
        const d = parts.slice(0, i).join('/');
        if (dirs.has(d)) continue;
        dirs.add(d);
        await new Promise<void>((resolve, reject) => pack.entry({ name: `${d}/`, type: 'directory', mode: 0o755, mtime }, (err) => (err ? reject(err) : resolve())));
      }
      if ('bytes' in e) {
        await new Promise<void>((resolve, reject) => pack.entry({ name: e.path, size: e.bytes.length, mode: 0o644, mtime }, e.bytes, (err) => (err ? reject(err) : resolve())));
      } else {
        const entry = pack.entry({ name: e.path, size: e.size, mode: 0o644, mtime });
        await pipeline(createReadStream(e.file, { highWaterMark: 1 << 20 }), entry);
      }
    }
    pack.finalize();
    await done;
  } catch (err) {
    pack.destroy(err as Error);
    await done.catch(() => undefined);
    throw err;
  }
}

/** Writes a tar to a file under a temporary name and renames it into place when complete. */
export async function writeTarFile(entries: Entry[], target: string, cleanup: string[] = []): Promise<void> {
  const tmp = tmpSibling(target, 'tmp');
  cleanup.push(tmp);
  try {
    await writeTar(entries, createWriteStream(tmp));
    await replace(tmp, target);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

export { exists };
