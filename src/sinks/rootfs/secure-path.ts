/**
 * Paths inside an export root, resolved the way a container runtime resolves them but never outside the root:
 * symbolic links in parent directories are followed with the root as `/`, and `..` stops at the root. The result
 * is a list of real components under the root, each existing one a real directory (never a link), so the caller can
 * then act on the last component with operations that do not follow links.
 */
import { lstatSync, readlinkSync } from 'node:fs';
import { join, sep } from 'node:path';
import { EcrxError } from '../../core/errors.js';

const OUTSIDE = 'Refusing to export an image that would write outside its target.';
const refuse = (message: string, hint = OUTSIDE) => new EcrxError('INVALID_IMAGE', message, { hint });

/**
 * An entry name from a layer as components: a leading `/` and `./`, empty and `.` components dropped. A real `..`
 * component is refused; a name that merely starts with dots (Kubernetes' `..data`) is an ordinary name.
 */
export function cleanLayerPath(name: string): string {
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw refuse(`A layer has the path '${name}', which climbs out of the image with '..'`);
  return parts.join('/');
}

/** True when `path` is `root` or below it (a string test on paths built from checked components). */
export function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** Real components under the root; the first `verified` of them were seen to be real directories. */
export interface Resolved {
  comps: string[];
  verified: number;
}

/**
 * The real components under `root` for the image path `rel`. Links in parent components are followed inside the
 * root; the last component is followed only when `followLast` (an opaque whiteout's directory), else it is the name
 * that gets created or replaced. An existing parent that is neither a directory nor a link is refused.
 */
export function resolveInRoot(root: string, rel: string, followLast = false): Resolved {
  const pending = rel.split('/').filter((p) => p !== '' && p !== '.');
  const done: string[] = [];
  let verified = 0;
  let links = 0;
  while (pending.length) {
    const comp = pending.shift()!;
    if (comp === '..') {
      done.pop();
      verified = Math.min(verified, done.length);
      continue;
    }
    if (pending.length === 0 && !followLast) {
      done.push(comp);
      break;
    }
    const here = join(root, ...done, comp);
    let st;
    try {
      st = lstatSync(here);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      done.push(comp); // missing: it and what follows are created as real directories
      continue;
    }
    if (st.isSymbolicLink()) {
      if (++links > 255)
        throw refuse(`Too many symbolic links resolving '${rel}'`, 'The image has a loop of symbolic links.');
      const target = readlinkSync(here);
      if (target.startsWith('/')) {
        done.length = 0;
        verified = 0;
      }
      pending.unshift(...target.split('/').filter((p) => p !== '' && p !== '.'));
      continue;
    }
    if (!st.isDirectory() && pending.length > 0)
      throw refuse(
        `A layer writes '${rel}', but '${[...done, comp].join('/')}' is not a directory`,
        'The image is malformed: a layer puts a file where a later one needs a directory.',
      );
    if (st.isDirectory() && verified === done.length) verified++;
    done.push(comp);
  }
  return { comps: done, verified };
}
