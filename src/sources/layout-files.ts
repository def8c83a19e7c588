/**
 * The files of an OCI layout directory, each refused unless it is what it claims to be: a regular file inside the
 * layout. A FIFO blocks whoever opens it, a device streams forever, a socket cannot be read, and a symlink may
 * point anywhere on the machine; so every file is examined (lstat, realpath, stat) before anything opens it, and
 * opened without blocking and checked again once open, in case it was swapped in between.
 *
 * Symlinks inside the layout (to a regular file that is itself inside it) are fine: some tools deduplicate blobs
 * that way. A symlink, or a symlinked `blobs/` directory, that leads outside the layout is refused.
 */
import { constants, lstatSync, realpathSync, statSync, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { createHash } from 'node:crypto';
import { EcrxError } from '../core/errors.js';

export interface LayoutFile {
  /** The real path (symlinks resolved), which is what gets opened. */
  path: string;
  size: number;
}

/** "a FIFO (named pipe)", "a character device", ...: what a path is, when it is not a regular file. */
export function describeKind(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a directory';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

const HINT =
  'Every file of an OCI layout must be a regular file inside the layout directory; re-create it with `ecrx pull` or `skopeo copy ... oci:DIR`.';

function notRegular(shown: string, st: Stats): EcrxError {
  return new EcrxError('INVALID_IMAGE', `${shown} is ${describeKind(st)}, not a regular file; refusing to read it`, {
    hint: HINT,
  });
}

/**
 * `rel` under the layout `root`: undefined when it does not exist; INVALID_IMAGE when it is not a regular file or
 * resolves outside the layout. `shown` is how the path is named in messages (the user's spelling of it).
 */
export function layoutFile(root: string, rel: string, shown = join(root, rel)): LayoutFile | undefined {
  const path = join(root, rel);
  let lst: Stats;
  try {
    lst = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR')
      return undefined;
    throw err;
  }
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return undefined; // a dangling symlink: as missing as a file that is not there
  }
  const rootReal = realpathSync(root);
  if (!real.startsWith(rootReal + sep)) {
    throw new EcrxError(
      'INVALID_IMAGE',
      `${shown} ${lst.isSymbolicLink() ? 'is a symlink' : 'leads'} to ${real}, outside the layout ${root}; refusing to read it`,
      { hint: HINT },
    );
  }
  const st = lst.isSymbolicLink() ? statSync(real) : lst;
  if (!st.isFile()) throw notRegular(shown, st);
  return { path: real, size: st.size };
}

/** Opens a file checked by layoutFile without ever blocking on it, and checks it once more now that it is open. */
export async function openRegular(path: string, shown: string): Promise<FileHandle> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw notRegular(shown, st);
    return fh;
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** Reads a whole (small, size-checked) regular file. */
export async function readRegular(path: string, shown: string): Promise<Buffer> {
  const fh = await openRegular(path, shown);
  try {
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

/** sha256 of a regular file, read 1 MiB at a time. */
export async function hashRegular(path: string, shown: string, signal?: AbortSignal): Promise<string> {
  const fh = await openRegular(path, shown);
  try {
    const h = createHash('sha256');
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      if (signal?.aborted) throw signal.reason;
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
    }
    return `sha256:${h.digest('hex')}`;
  } finally {
    await fh.close();
  }
}
