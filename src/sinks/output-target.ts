/**
 * Where an output may go, decided before a single byte is downloaded, and decided again just before the finished
 * output takes its name. ecrx never removes what is not its own:
 * - a path that does not exist is created (its parent must exist, be a directory, and be writable);
 * - an empty directory is filled in place when a layout is wanted (nothing in it to lose; it may be a mount point);
 * - an earlier ecrx output of the same kind (marker.ts proves it) is replaced, and the user is told;
 * - anything else is refused with OUTPUT_ERROR: a directory or file ecrx did not write, a symbolic link (neither
 *   replaced nor written through, so nothing outside the named path can change), a FIFO, a socket or a device,
 *   a path inside the blob cache (or one holding it), and the current directory when it would be replaced.
 */
import { constants, promises as fsp } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { EcrxError } from '../core/errors.js';
import { kindOf } from '../store/blob-cache.js';
import { provenArchive, provenLayout } from './marker.js';
import { isDeadStaging, sweepBeside } from './temp-names.js';

export type OutputKind = 'directory' | 'file';

export interface OutputPlan {
  /** Absolute, as the user named it (symbolic links in its parents are not resolved, so messages match). */
  target: string;
  kind: OutputKind;
  /** What is at the target: nothing, an empty directory to fill, or an earlier ecrx output to replace. */
  existing: 'none' | 'empty-directory' | 'ecrx-output';
  /** The earlier output's format, when one is replaced. */
  previousFormat?: string;
}

const HINT = (target: string) => `Choose another -o, or remove ${target} yourself if you no longer need it.`;

export function refuse(target: string, message: string, hint = HINT(target)): EcrxError {
  return new EcrxError('OUTPUT_ERROR', message, { hint, details: { output: target } });
}

export interface PlanOptions {
  /** The blob cache's directory: the output may neither be inside it nor hold it. */
  cacheRoot?: string;
  cwd?: string;
}

/** Every check that needs no network: run before the first API call. */
export async function planOutput(target: string, kind: OutputKind, opts: PlanOptions = {}): Promise<OutputPlan> {
  await sweepBeside(target);
  const found = await classify(target, kind);
  await checkWritable(found.existing === 'empty-directory' ? target : dirname(target), target);
  if (opts.cacheRoot) {
    const [out, cache] = await Promise.all([realish(target), realish(opts.cacheRoot)]);
    if (within(out, cache))
      throw refuse(
        target,
        `${target} is inside the blob cache ${opts.cacheRoot}`,
        'Write outputs outside the cache: choose another -o, or another --cache-dir.',
      );
    if (within(cache, out))
      throw refuse(
        target,
        `${target} holds the blob cache ${opts.cacheRoot}`,
        'Write outputs outside the cache: choose another -o, or another --cache-dir.',
      );
  }
  if (
    found.existing === 'ecrx-output' &&
    kind === 'directory' &&
    within(await realish(opts.cwd ?? process.cwd()), await realish(target))
  ) {
    throw refuse(
      target,
      `${target} is (or holds) the current directory, and replacing it would pull it from under you`,
      'Run ecrx from another directory, or choose another -o.',
    );
  }
  return { target, kind, ...found };
}

/** What is at the target now; throws the refusal when it is something ecrx must not touch. */
export async function classify(
  target: string,
  kind: OutputKind,
): Promise<Pick<OutputPlan, 'existing' | 'previousFormat'>> {
  let st;
  try {
    st = await fsp.lstat(target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { existing: 'none' }; // the parent check says what is wrong
    throw withPath(err, target);
  }
  const what = kind === 'directory' ? 'an OCI layout (a directory)' : 'an archive (a file)';
  if (st.isSymbolicLink()) {
    const to = await fsp.readlink(target).catch(() => '?');
    throw refuse(
      target,
      `${target} is a symbolic link (to ${to}); ecrx neither replaces a link nor writes through one`,
      `Give the path it points to with -o (ecrx then checks that path), or choose another -o.`,
    );
  }
  if (!st.isFile() && !st.isDirectory()) {
    throw refuse(
      target,
      `${target} is a ${kindOf(st)}, not a place for ${what}`,
      kind === 'file'
        ? `To stream an archive into it, use -o - and redirect: ecrx pull IMAGE -o - > ${target}`
        : HINT(target),
    );
  }
  if (kind === 'file' && st.isDirectory()) {
    throw refuse(
      target,
      `${target} is a directory, and this format writes ${what}`,
      `Give a file name, for example -o ${target.endsWith(sep) ? target : target + sep}image.tar, or use --format oci for a layout directory.`,
    );
  }
  if (kind === 'directory' && st.isFile()) {
    throw refuse(target, `${target} is a file, and --format oci writes ${what}`, HINT(target));
  }
  if (st.isDirectory() && (await isEmpty(target))) return { existing: 'empty-directory' };
  const proof = st.isDirectory()
    ? await provenLayout(target)
    : await provenArchive(target).catch((err) => Promise.reject(withPath(err, target)));
  if (!proof.ok) throw refuse(target, `${target} already exists and is not an earlier ecrx output: ${proof.why}`);
  return { existing: 'ecrx-output', previousFormat: proof.format };
}

/** Empty, or holding only what a killed ecrx left while filling it (removed now). */
async function isEmpty(dir: string): Promise<boolean> {
  const names = await fsp.readdir(dir).catch((err) => Promise.reject(withPath(err, dir)));
  if (!names.every(isDeadStaging)) return false;
  for (const name of names) await fsp.rm(join(dir, name), { recursive: true, force: true });
  return true;
}

async function checkWritable(dir: string, target: string): Promise<void> {
  let st;
  try {
    st = await fsp.stat(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw refuse(
        target,
        `Cannot write ${target}: the directory ${dir} does not exist`,
        `Create it first (mkdir -p ${dir}) or choose another -o.`,
      );
    if (code === 'ENOTDIR')
      throw refuse(
        target,
        `Cannot write ${target}: ${dir} is not a directory (part of the path is a file)`,
        HINT(target),
      );
    throw withPath(err, dir);
  }
  if (!st.isDirectory()) throw refuse(target, `Cannot write ${target}: ${dir} is not a directory`, HINT(target));
  try {
    await fsp.access(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new EcrxError(
      'PERMISSION_DENIED',
      `Cannot write ${target}: no permission to create files in ${dir}${(err as NodeJS.ErrnoException).code === 'EROFS' ? ' (a read-only file system)' : ''}`,
      {
        hint: 'Choose a writable location with -o.',
        details: { output: target },
      },
    );
  }
}

/** The real path of the longest existing ancestor, with the rest appended: where a path would really be. */
async function realish(path: string): Promise<string> {
  let head = resolve(path);
  const rest: string[] = [];
  for (;;) {
    try {
      return resolve(await fsp.realpath(head), ...rest.reverse());
    } catch {
      const up = dirname(head);
      if (up === head) return resolve(path);
      rest.push(head.slice(up.length).replace(/^[/\\]/, ''));
      head = up;
    }
  }
}

const within = (inner: string, outer: string) =>
  inner === outer || inner.startsWith(outer.endsWith(sep) ? outer : outer + sep);

function withPath(err: unknown, path: string): unknown {
  if (err && typeof err === 'object' && 'code' in err) (err as NodeJS.ErrnoException).path = path;
  return err;
}
