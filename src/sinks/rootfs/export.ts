/** The edges of a rootfs export: the tar on a stream that may close early, and errors in the user's terms. */
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { EcrxError } from '../../core/errors.js';
import { tarTree } from './tar-tree.js';
import type { Target } from './target.js';

/**
 * The tar on a stream (stdout). A reader that goes away (`| head`) is a normal end of a pipeline: true then, and the
 * caller exits quietly with 141 (Node ignores SIGPIPE, so the write fails with EPIPE instead of killing the process).
 */
export async function tarToStream(
  rootfs: string,
  out: Writable,
  meta: Parameters<typeof tarTree>[2],
): Promise<boolean> {
  let closed = false;
  // Kept for the rest of the process: a late EPIPE on stdout must not become an uncaught 'error' event.
  out.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') closed = true;
  });
  try {
    await tarTree(rootfs, out, meta);
    return false;
  } catch (err) {
    if (closed || (err as NodeJS.ErrnoException).code === 'EPIPE') return true;
    throw err;
  }
}

/**
 * A file-system error inside ecrx's temporary tree (a full disk, a file-size limit) names the place the user gave
 * instead: the temporary name means nothing to them, and is gone by the time they read it.
 */
export function inUserTerms(err: unknown, work: string, target: Target): unknown {
  const e = err as NodeJS.ErrnoException & { dest?: string };
  if (!e || typeof e !== 'object' || e instanceof EcrxError) return err;
  const shown = target.kind === 'stdout' ? '(the tar on stdout)' : target.path;
  const rootfs = join(work, 'rootfs');
  const pairs: [string, string][] = [
    [`${rootfs}/`, `${shown}/`],
    [`${rootfs}.tar`, shown],
    [rootfs, shown],
    [work, shown],
  ];
  const swap = (text: string) => pairs.reduce((t, [from, to]) => t.split(from).join(to), text);
  if (typeof e.path === 'string') e.path = swap(e.path);
  if (typeof e.dest === 'string') e.dest = swap(e.dest);
  if (typeof e.message === 'string') e.message = swap(e.message);
  return e;
}
