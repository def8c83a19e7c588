/**
 * How ecrx recognises its own earlier output: the only existing thing at an output path it will ever replace.
 *
 * - An OCI layout directory carries `.ecrx-output`, a JSON list of every file ecrx wrote there, with the sha256 of
 *   the small ones (oci-layout, index.json, manifests). The directory is ecrx's only while it holds nothing else
 *   (no file added, no link, no FIFO), its oci-layout and index.json exist, and no listed small file changed.
 *   Blobs are content-addressed: a changed blob is damage, not the user's work. A layout another tool changed in
 *   place (umoci, `skopeo copy ... oci:DIR:other`) adds blobs or rewrites index.json, so it is no longer ecrx's.
 * - An archive starts with a pax global header whose `comment` record says `ecrx-output format=<format>`, followed
 *   by the `oci-layout` entry: the way `git archive` marks its tars. Tar readers skip the comment (GNU tar, Go's
 *   archive/tar as used by docker, podman and skopeo, Python's tarfile, tar-stream).
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Entry } from './entries.js';
import { kindOf } from '../store/blob-cache.js';

export const LAYOUT_MARKER = '.ecrx-output';
const TAR_COMMENT = /^ecrx-output format=(oci-archive|docker-archive)$/;

/** Whether an existing path is an earlier ecrx output, and if not, why not (in words for an error message). */
export type Proof = { ok: true; format: string } | { ok: false; why: string };

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** The marker for a layout made of `entries`. */
export function layoutMarker(entries: Entry[]): Buffer {
  const files: Record<string, string | null> = {};
  for (const e of entries) files[e.path] = 'bytes' in e ? sha256(e.bytes) : null;
  return Buffer.from(`${JSON.stringify({ writtenBy: 'ecrx', format: 'oci', files }, null, 1)}\n`);
}

/** The pax global header block that starts every archive ecrx writes. */
export function tarMarker(format: string): Buffer {
  const record = paxRecord('comment', `ecrx-output format=${format}`);
  const body = Buffer.alloc(Math.ceil(record.length / 512) * 512);
  record.copy(body);
  return Buffer.concat([ustarHeader('pax_global_header', record.length, 'g'), body]);
}

function paxRecord(key: string, value: string): Buffer {
  const rest = ` ${key}=${value}\n`;
  let len = rest.length + 1;
  while (String(len).length + rest.length !== len) len++;
  return Buffer.from(`${len}${rest}`);
}

function ustarHeader(name: string, size: number, typeflag: string): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write(typeflag, 156);
  h.write('ustar\0' + '00', 257);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

/** Reads the start of a file and looks for the marker an ecrx archive begins with. */
export async function provenArchive(file: string): Promise<Proof> {
  const no = {
    ok: false,
    why: 'it is a file ecrx did not write (it does not start with the mark of an ecrx archive)',
  } as const;
  const fh = await fsp.open(file, 'r');
  let head: Buffer;
  try {
    const buf = Buffer.alloc(2048);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    head = buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  if (head.length < 1024 || head.toString('latin1', 257, 262) !== 'ustar' || head.toString('latin1', 156, 157) !== 'g')
    return no;
  const size = parseInt(head.toString('latin1', 124, 135), 8);
  const next = 512 + Math.ceil(size / 512) * 512;
  if (!(size > 0) || next + 512 > head.length) return no;
  const comment = /(?:^|\n)\d+ comment=([^\n]*)\n/.exec(head.toString('utf8', 512, 512 + size))?.[1];
  const format = comment !== undefined ? TAR_COMMENT.exec(comment)?.[1] : undefined;
  const firstName = head.toString('utf8', next, next + 100).replace(/\0.*$/s, '');
  if (!format || firstName !== 'oci-layout') return no;
  return { ok: true, format };
}

/** Checks that a directory holds exactly what ecrx wrote there (see the file comment). */
export async function provenLayout(dir: string): Promise<Proof> {
  let files: Record<string, string | null>;
  try {
    const st = await fsp.lstat(join(dir, LAYOUT_MARKER));
    if (!st.isFile()) throw new Error('not a file');
    const marker = JSON.parse(await fsp.readFile(join(dir, LAYOUT_MARKER), 'utf8'));
    if (marker?.writtenBy !== 'ecrx' || typeof marker.files !== 'object' || marker.files === null)
      throw new Error('not our marker');
    files = marker.files;
  } catch {
    return { ok: false, why: `it is a directory ecrx did not write (it has no ${LAYOUT_MARKER} marker)` };
  }
  const expected = new Set([...Object.keys(files), LAYOUT_MARKER]);
  const dirs = new Set<string>(['']);
  for (const path of expected)
    for (let i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) dirs.add(path.slice(0, i));
  const foreign = await findForeign(dir, '', expected, dirs);
  if (foreign) return { ok: false, why: `it holds ${foreign}, which ecrx did not write` };
  for (const needed of ['oci-layout', 'index.json']) {
    const st = await fsp.lstat(join(dir, needed)).catch(() => undefined);
    if (!st) return { ok: false, why: `its ${needed} is missing, so it is no longer a whole OCI layout` };
  }
  for (const [path, digest] of Object.entries(files)) {
    if (!digest) continue;
    const bytes = await fsp.readFile(join(dir, path)).catch(() => undefined);
    if (bytes && sha256(bytes) !== digest) return { ok: false, why: `its ${path} was changed after ecrx wrote it` };
  }
  return { ok: true, format: 'oci' };
}

/** The first thing under `rel` that ecrx did not write, described; undefined when there is none. */
async function findForeign(
  root: string,
  rel: string,
  files: Set<string>,
  dirs: Set<string>,
): Promise<string | undefined> {
  for (const name of (await fsp.readdir(join(root, rel))).sort()) {
    const path = rel ? `${rel}/${name}` : name;
    const st = await fsp.lstat(join(root, path));
    if (st.isDirectory() && dirs.has(path)) {
      const inner = await findForeign(root, path, files, dirs);
      if (inner) return inner;
    } else if (!st.isFile() || !files.has(path)) {
      return st.isFile() ? path : `${path} (a ${kindOf(st)})`;
    }
  }
  return undefined;
}
