/**
 * Puts a cached blob into an output as a copy of its own, never a hard link: an output is the user's to edit, and
 * an edit must not reach the cache (and every later pull). A reflink (copy-on-write clone: btrfs, XFS, APFS...)
 * costs no space and no copy where the file system has it; elsewhere the bytes are streamed. Either way the copy
 * is hashed, in the same pass as the copy when streaming, so checking the cache's bytes costs no extra read.
 */
import { constants, createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { fileDigest, HashingStream } from '../core/digest.js';

/** Whether reflinks worked the last time (undefined: not tried yet). One output lives on one file system. */
let cloneWorks: boolean | undefined;
const NO_CLONE = new Set(['ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'EINVAL', 'ENOSYS', 'ENOTTY']);

/**
 * Copies a blob this run has just downloaded and verified: by the kernel (copy_file_range, or a reflink where the
 * file system has one), with no bytes through this process and no second hash. Only its size is checked: a file
 * of another size is no longer the blob, and is treated like a corrupt one.
 */
export async function copyVerified(src: string, dest: string, size: number): Promise<void> {
  await fsp
    .copyFile(src, dest, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE)
    .catch((err: NodeJS.ErrnoException) => {
      // copyFile names its source; only a source that vanished is about the cache. A full disk, a quota, an I/O
      // error on the way are about the output, which is what the message must name.
      if (err.code !== 'ENOENT') err.path = dest;
      throw err;
    });
  const st = await fsp.stat(dest);
  if (st.size !== size) {
    await fsp.rm(dest, { force: true });
    throw Object.assign(new Error(`${src} holds ${st.size} bytes, not ${size}`), { code: 'ENOENT', path: src });
  }
}

/**
 * Copies `src` to a new file `dest` and returns the sha256 and size of what `dest` holds. `size`, when known, sizes
 * the read buffer: a 100 KiB layer read through a 1 MiB buffer allocates ten times what it copies.
 */
export async function copyHashed(
  src: string,
  dest: string,
  signal?: AbortSignal,
  size?: number,
): Promise<{ digest: string; bytes: number }> {
  if (cloneWorks !== false) {
    try {
      await fsp.copyFile(src, dest, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE);
      cloneWorks = true;
      const [digest, st] = await Promise.all([fileDigest(dest, signal), fsp.stat(dest)]);
      return { digest, bytes: st.size };
    } catch (err) {
      if (!NO_CLONE.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
      cloneWorks = false;
      await fsp.rm(dest, { force: true });
    }
  }
  const hasher = new HashingStream();
  const highWaterMark = Math.min(1 << 20, Math.max(64 << 10, size ?? 1 << 20));
  await pipeline(createReadStream(src, { highWaterMark }), hasher, createWriteStream(dest, { flags: 'wx' }), {
    signal,
  });
  return { digest: hasher.digest(), bytes: hasher.bytes };
}
