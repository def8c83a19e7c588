/**
 * Where an export goes and what may be there already. ecrx never deletes what it did not make: a directory target
 * must be missing or empty (an empty one is replaced by rename, which fails rather than replace a directory that
 * gained files meanwhile); a FILE.tar target must be missing, empty, or a tar (an earlier export), and is replaced
 * only when the new one is complete.
 */
import { promises as fsp, type Stats } from 'node:fs';
import { basename, dirname, resolve as resolvePath } from 'node:path';
import { EcrxError } from '../../core/errors.js';

export type Target = { kind: 'stdout' } | { kind: 'tar' | 'dir'; path: string };

export function planTarget(text: string): Target {
  if (text === '-' || text === '-.tar') return { kind: 'stdout' };
  return { kind: text.endsWith('.tar') ? 'tar' : 'dir', path: resolvePath(text) };
}

const lstatOrUndefined = (path: string) =>
  fsp.lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });

/** A regular file that is empty or starts like a tar (a ustar header, or the zero blocks of an empty archive). */
async function isReplaceableTar(path: string, st: Stats): Promise<boolean> {
  if (!st.isFile()) return false;
  if (st.size === 0) return true;
  const fh = await fsp.open(path, 'r');
  try {
    const block = Buffer.alloc(512);
    const { bytesRead } = await fh.read(block, 0, 512, 0);
    return bytesRead === 512 && (block.toString('latin1', 257, 262) === 'ustar' || block.every((b) => b === 0));
  } finally {
    await fh.close();
  }
}

function refuseDir(path: string): EcrxError {
  return new EcrxError('OUTPUT_ERROR', `${path} already exists and is not an empty directory`, {
    hint: 'ecrx never deletes what it did not make: export into a new or empty directory, or remove that one first.',
  });
}

function refuseTar(path: string): EcrxError {
  return new EcrxError('OUTPUT_ERROR', `${path} already exists and is not a tar file ecrx may replace`, {
    hint: 'ecrx replaces only an empty file or an earlier tar: choose another name, or remove that one first.',
  });
}

/** Checked before any download, so a target that can never be written costs nothing. */
export async function checkTarget(t: Target): Promise<void> {
  if (t.kind === 'stdout') return;
  const parent = await lstatOrUndefined(dirname(t.path));
  if (!parent?.isDirectory()) {
    throw new EcrxError('OUTPUT_ERROR', `The directory ${dirname(t.path)} for ${basename(t.path)} does not exist`, {
      hint: 'Create it first, or choose another target.',
    });
  }
  const st = await lstatOrUndefined(t.path);
  if (!st) return;
  if (t.kind === 'dir' && !(st.isDirectory() && (await fsp.readdir(t.path)).length === 0)) throw refuseDir(t.path);
  if (t.kind === 'tar' && !(await isReplaceableTar(t.path, st))) throw refuseTar(t.path);
}

/** Moves the finished tree to the target; a target that was filled meanwhile makes rename fail, and stays as it is. */
export async function placeDirectory(tree: string, path: string): Promise<void> {
  try {
    await fsp.rename(tree, path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR') {
      throw new EcrxError('OUTPUT_ERROR', `${path} was filled or replaced while exporting, and is left as it is`, {
        hint: 'The export was discarded and nothing there was changed; export into a new or empty directory.',
        cause: err,
      });
    }
    throw err;
  }
}

/** Moves the finished tar to the target, checking again that what is there may be replaced. */
export async function placeTar(file: string, path: string): Promise<void> {
  const st = await lstatOrUndefined(path);
  if (st && !(await isReplaceableTar(path, st))) throw refuseTar(path);
  await fsp.rename(file, path);
}
