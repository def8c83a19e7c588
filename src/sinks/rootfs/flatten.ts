/**
 * Applies an image's layers in order onto a directory: OCI whiteouts (`.wh.NAME` deletes, `.wh..wh..opq` empties a
 * directory of what lower layers put there), regular files, directories, symbolic and hard links. Every path is
 * resolved inside the root (secure-path.ts) and every node is made with operations that do not follow links
 * (nodes.ts), so nothing outside the root is created, changed or re-timed whatever the layers contain or their
 * order. Device nodes are refused unless running as root, where they are skipped with a notice since Node cannot
 * create them.
 */
import { linkSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { EcrxError } from '../../core/errors.js';
import { cleanLayerPath, isInside, resolveInRoot } from './secure-path.js';
import { isStopped, streamLayer, type LayerBlob } from './layer-stream.js';
import {
  applyDirectoryMeta,
  ensureParents,
  isRoot,
  lstatOrNull,
  makeSymlink,
  removeNode,
  writeFile,
  type Meta,
} from './nodes.js';

export interface FlattenOptions {
  notice?: (text: string) => void;
  signal?: AbortSignal;
  /** Set modes, times (and owners, as root) on disk; otherwise they are only recorded, for a tar. */
  applyMetadata: boolean;
}

interface Context {
  root: string;
  meta: Map<string, Meta>;
  /** Real paths this layer made, with their parents: an opaque whiteout keeps them. */
  touched: Set<string>;
  disk: boolean;
  owners: boolean;
  notice?: (text: string) => void;
}

interface TarHeader {
  name: string;
  type?: string | null;
  mode?: number;
  mtime?: Date;
  uid?: number;
  gid?: number;
  linkname?: string | null;
}

const OPAQUE = '.wh..wh..opq';
const WHITEOUT = '.wh.';

function touch(ctx: Context, comps: string[]): void {
  for (let i = 1; i <= comps.length; i++) ctx.touched.add(comps.slice(0, i).join('/'));
}

/** `.wh..wh..opq`: removes what lower layers put in the directory, keeping what this layer already wrote there. */
function opaque(ctx: Context, parentRel: string): void {
  const { comps } = resolveInRoot(ctx.root, parentRel, true);
  const dir = join(ctx.root, ...comps);
  if (!lstatOrNull(dir)?.isDirectory()) return;
  for (const child of readdirSync(dir)) {
    if (!ctx.touched.has([...comps, child].join('/'))) removeNode(join(dir, child));
  }
}

/** `.wh.NAME`: removes NAME from its directory; a NAME of '', '.' or '..' would name the directory or its parent. */
function whiteout(ctx: Context, rawName: string, parentRel: string, victim: string): void {
  if (victim === '' || victim === '.' || victim === '..') {
    throw new EcrxError(
      'INVALID_IMAGE',
      `A layer has the whiteout '${rawName}', which names no file but its own directory or a parent`,
      { hint: 'The image is malformed or hostile; refusing to delete anything for it.' },
    );
  }
  const { comps } = resolveInRoot(ctx.root, parentRel ? `${parentRel}/${victim}` : victim);
  const path = join(ctx.root, ...comps);
  if (comps.length === 0 || !isInside(ctx.root, path)) return;
  if (lstatOrNull(path)) removeNode(path);
}

async function drain(body: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of body) void _;
}

function hardLink(ctx: Context, h: TarHeader, rel: string, dest: string, destRel: string): void {
  const targetComps = resolveInRoot(ctx.root, cleanLayerPath(h.linkname ?? '')).comps;
  const source = join(ctx.root, ...targetComps);
  const st = targetComps.length ? lstatOrNull(source) : null;
  if (!st || st.isDirectory() || !isInside(ctx.root, source)) {
    throw new EcrxError(
      'INVALID_IMAGE',
      `Hard link '${rel}' points to '${h.linkname}', which is not a file of the image`,
      { hint: 'The image is malformed or hostile; refusing to link to anything outside it.' },
    );
  }
  if (source === dest) return;
  if (lstatOrNull(dest)) removeNode(dest);
  linkSync(source, dest); // link(2) does not follow a symbolic link in `source`: the link itself is linked
  const m = ctx.meta.get(targetComps.join('/'));
  if (m) ctx.meta.set(destRel, m);
  else ctx.meta.delete(destRel);
}

async function applyEntry(ctx: Context, h: TarHeader, body: AsyncIterable<unknown>): Promise<void> {
  const rel = cleanLayerPath(h.name);
  if (rel === '') return; // the root itself: the target keeps the mode it was made with
  const slash = rel.lastIndexOf('/');
  const base = rel.slice(slash + 1);
  const parentRel = slash < 0 ? '' : rel.slice(0, slash);
  if (base === OPAQUE) return opaque(ctx, parentRel);
  if (base.startsWith(WHITEOUT)) return whiteout(ctx, h.name, parentRel, base.slice(WHITEOUT.length));

  const resolved = resolveInRoot(ctx.root, rel);
  const { comps } = resolved;
  const dest = join(ctx.root, ...comps);
  const destRel = comps.join('/');
  if (comps.length === 0 || !isInside(ctx.root, dest))
    throw new EcrxError('INVALID_IMAGE', `Refusing to write '${h.name}' outside the target`);
  ensureParents(ctx.root, resolved, ctx.meta);
  touch(ctx, comps);
  const m: Meta = { mode: (h.mode ?? 0o644) & 0o7777, mtime: h.mtime ?? new Date(0), uid: h.uid ?? 0, gid: h.gid ?? 0 };
  const existing = lstatOrNull(dest);
  switch (h.type) {
    case 'directory':
      if (existing && !existing.isDirectory()) removeNode(dest);
      if (!existing?.isDirectory()) mkdirSync(dest, 0o755);
      ctx.meta.set(destRel, m);
      return;
    case 'file':
    case 'contiguous-file':
    case null:
    case undefined:
      if (existing) removeNode(dest);
      ctx.meta.set(destRel, m);
      return writeFile(dest, body, ctx.disk ? m : null, ctx.owners);
    case 'symlink':
      if (existing) removeNode(dest);
      ctx.meta.set(destRel, { ...m, mode: 0o777 });
      return makeSymlink(dest, h.linkname ?? '', ctx.disk ? m : null, ctx.owners);
    case 'link':
      return hardLink(ctx, h, rel, dest, destRel);
    case 'character-device':
    case 'block-device':
      if (!isRoot()) {
        throw new EcrxError(
          'PERMISSION_DENIED',
          `The image has a device node ${rel}; creating device nodes needs root`,
          { hint: 'Run as root, or use umoci unpack --rootless, which skips them.' },
        );
      }
      ctx.notice?.(`skipped ${h.type} ${rel} (Node.js cannot create it)`);
      return;
    case 'fifo':
      ctx.notice?.(`skipped fifo ${rel} (Node.js cannot create it)`);
      return;
    default:
      ctx.notice?.(`skipped ${h.type} entry ${rel}`);
  }
}

/**
 * Unpacks one layer: the tar stream feeds the loop that applies its entries. When both fail, the bytes' own error
 * (corrupt gzip, bad tar, wrong digest) explains the entry's, unless the entry was refused for what it is; an entry
 * that fails on its own (a full disk) stops the stream, and the stream's "premature close" is not reported.
 */
async function applyLayer(ctx: Context, layer: LayerBlob, n: number, signal?: AbortSignal): Promise<void> {
  const tar = await import('tar-stream');
  const extract = tar.extract();
  const work = (async () => {
    for await (const entry of extract) {
      if (signal?.aborted) throw signal.reason;
      await applyEntry(ctx, entry.header as TarHeader, entry);
      await drain(entry);
    }
  })();
  work.catch(() => extract.destroy());
  const feed = streamLayer(layer, n, extract as unknown as Writable, signal);
  feed.catch(() => extract.destroy()); // also when it failed before piping anything, or the loop would wait forever
  const [w, f] = await Promise.allSettled([work, feed]);
  const entryError = w.status === 'rejected' ? w.reason : undefined;
  const streamError = f.status === 'rejected' ? f.reason : undefined;
  if (streamError && !isStopped(streamError) && !(entryError instanceof EcrxError)) throw streamError;
  if (entryError) throw entryError;
  if (streamError)
    throw new EcrxError('INVALID_IMAGE', `Layer ${n} (${layer.digest}) ended before its tar did`, {
      cause: streamError,
    });
}

/** Applies `layers` onto `root`; returns what the layers said about each node (modes, times, owners) by real path. */
export async function applyLayers(root: string, layers: LayerBlob[], opts: FlattenOptions): Promise<Map<string, Meta>> {
  const ctx: Context = {
    root,
    meta: new Map(),
    touched: new Set(),
    disk: opts.applyMetadata,
    owners: opts.applyMetadata && isRoot(),
    notice: opts.notice,
  };
  for (const [i, layer] of layers.entries()) {
    ctx.touched = new Set();
    await applyLayer(ctx, layer, i + 1, opts.signal);
  }
  if (ctx.disk) applyDirectoryMeta(root, ctx.meta, ctx.owners);
  return ctx.meta;
}
