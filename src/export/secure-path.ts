/**
 * Resolving a path inside an export root the way a container runtime would, but never outside it: symlinks in the
 * parents are followed with the root as `/`, and `..` stops at the root. Nothing is ever written through a link
 * that leads out of the target.
 */
import { lstatSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import { EcrxError } from '../core/errors.js';

/** Cleans an entry name from a layer; absolute names are taken relative to the root, `..` is refused. */
export function cleanLayerPath(name: string): string {
  const stripped = name.replace(/^\/+/, '').replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  if (stripped.split('/').includes('..')) {
    throw new EcrxError('INVALID_IMAGE', `A layer has the path '${name}', which climbs out of the image with '..'`, { hint: 'Refusing to export an image that would write outside its target.' });
  }
  const normal = posix.normalize(stripped || '.');
  return normal === '.' ? '' : normal;
}

/**
 * The real path under `root` for the image path `rel`, following symlinks in its parent directories (not in its
 * last component, which is what gets replaced) and keeping every step inside `root`.
 */
export function secureJoin(root: string, rel: string): string {
  const pending = rel.split('/').filter(Boolean);
  const done: string[] = [];
  let links = 0;
  while (pending.length) {
    const comp = pending.shift()!;
    if (comp === '.') continue;
    if (comp === '..') {
      done.pop();
      continue;
    }
    if (pending.length === 0) {
      done.push(comp);
      break;
    }
    const here = join(root, ...done, comp);
    let st;
    try {
      st = lstatSync(here);
    } catch {
      done.push(comp);
      continue;
    }
    if (st.isSymbolicLink()) {
      if (++links > 255) throw new EcrxError('INVALID_IMAGE', `Too many symbolic links resolving ${rel}`);
      const target = readlinkSync(here);
      if (target.startsWith('/')) done.length = 0;
      pending.unshift(...target.split('/').filter(Boolean));
      continue;
    }
    done.push(comp);
  }
  return join(root, ...done);
}
