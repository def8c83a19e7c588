/**
 * Creating and removing one node of the export tree without ever following a link: the caller passes a path whose
 * parents are real directories inside the root (see secure-path.ts), files are opened with O_CREAT|O_EXCL|O_NOFOLLOW
 * and their owner, mode and times set through the open descriptor, links get lchown/lutimes, and directories get
 * their metadata at the very end, through a descriptor opened with O_NOFOLLOW|O_DIRECTORY.
 *
 * The calls are synchronous: entries are applied one at a time anyway, and for an image of many small files a
 * thread-pool round trip per call made most of the export's time.
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  futimesSync,
  lchownSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  symlinkSync,
  chmodSync,
  type Stats,
} from 'node:fs';
import { join } from 'node:path';
import { EcrxError } from '../../core/errors.js';
import { writeAllSync } from '../../core/write-all.js';
import type { Resolved } from './secure-path.js';

/** What a layer said about a node, kept by real path: applied to disk for a directory export, read for a tar. */
export interface Meta {
  mode: number;
  mtime: Date;
  uid: number;
  gid: number;
}

export const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

export function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/** Removes what is at `path` (a link itself, never what it points to; a directory with its contents). */
export function removeNode(path: string): void {
  rmSync(path, { recursive: true, force: true });
}

/**
 * Creates the missing parents of `r.comps` under `root` as real directories. The first `r.verified` were just seen
 * to be real directories; any other that exists must be one too.
 */
export function ensureParents(root: string, r: Resolved, meta: Map<string, Meta>): void {
  for (let i = Math.max(1, r.verified + 1); i < r.comps.length; i++) {
    const rel = r.comps.slice(0, i).join('/');
    try {
      mkdirSync(join(root, rel), 0o755);
      meta.delete(rel); // an implicit directory: whatever an earlier node here had is gone
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!lstatSync(join(root, rel)).isDirectory()) {
        throw new EcrxError('INVALID_IMAGE', `A layer needs '${rel}' to be a directory, but it is not`, {
          hint: 'The image is malformed: a layer puts a file where a later one needs a directory.',
        });
      }
    }
  }
}

const O_NEW_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

function setMeta(fd: number, m: Meta, owners: boolean): void {
  if (owners) fchownSync(fd, m.uid, m.gid); // before chmod: chown clears set-id bits
  fchmodSync(fd, m.mode);
  futimesSync(fd, m.mtime, m.mtime);
}

/** Writes a new regular file at `path` (nothing may be there) from `body`; owner, mode and times through the fd. */
export async function writeFile(
  path: string,
  body: AsyncIterable<unknown>,
  m: Meta | null,
  owners: boolean,
): Promise<void> {
  const fd = openSync(path, O_NEW_FILE, 0o600);
  try {
    let pos = 0;
    for await (const chunk of body) {
      writeAllSync(fd, chunk as Buffer, pos);
      pos += (chunk as Buffer).length;
    }
    if (m) setMeta(fd, m, owners);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e?.code && !e.path) e.path = path; // a write on a descriptor names no file; the message should
    throw err;
  } finally {
    closeSync(fd);
  }
}

export function makeSymlink(path: string, linkname: string, m: Meta | null, owners: boolean): void {
  symlinkSync(linkname, path);
  if (m) {
    if (owners) lchownSync(path, m.uid, m.gid);
    lutimesSync(path, m.mtime, m.mtime);
  }
}

const O_DIR = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** Sets a directory's owner, mode and times through a descriptor, after checking it is the directory just listed. */
function setDirMeta(path: string, expected: Stats, m: Meta, owners: boolean): void {
  const fd = openSync(path, O_DIR);
  try {
    const st = fstatSync(fd);
    if (st.dev === expected.dev && st.ino === expected.ino) setMeta(fd, m, owners); // else changed under us: not ours
  } finally {
    closeSync(fd);
  }
}

/**
 * Directory metadata goes last, deepest first, so a read-only directory did not stop its own children being
 * written and later writes did not change its times. The walk lists the tree from the root and descends only into
 * real directories it finds, so no link, whatever a later layer made of a path, can lead it outside.
 */
export function applyDirectoryMeta(root: string, meta: Map<string, Meta>, owners: boolean, rel = ''): void {
  for (const entry of readdirSync(rel ? join(root, rel) : root, { withFileTypes: true })) {
    if (entry.isFile() || entry.isSymbolicLink()) continue; // known not to be a directory; lstat decides the rest
    const r = rel ? `${rel}/${entry.name}` : entry.name;
    const st = lstatSync(join(root, r));
    if (!st.isDirectory()) continue;
    applyDirectoryMeta(root, meta, owners, r);
    const m = meta.get(r);
    if (m) setDirMeta(join(root, r), st, m, owners);
  }
}

/** Makes every real directory under `dir` writable again, so a tree whose modes were applied can be removed. */
function unlockTree(dir: string): void {
  if (!lstatOrNull(dir)?.isDirectory()) return;
  chmodSync(dir, 0o700); // a real directory (just checked with lstat) inside ecrx's own temporary directory
  for (const name of readdirSync(dir)) unlockTree(join(dir, name));
}

/** Removes ecrx's temporary directory, even when it holds directories an image made read-only. */
export function removeTree(dir: string): void {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') throw err;
    unlockTree(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}
