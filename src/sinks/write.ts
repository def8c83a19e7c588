/**
 * Writes entries as a directory or a tar. Both are built under a temporary name (beside the target, or inside an
 * empty target directory) and take the target's name only when complete, so an interrupted run never leaves
 * something that looks whole. What is at the target is checked again at that moment (output-target.ts): only an
 * earlier ecrx output is ever replaced. Every cached blob is hashed on its way into the output; one that no longer
 * matches its digest is removed from the cache and reported as CorruptBlobError, so the caller can fetch it again
 * and write once more. Errors name the user's path, never the temporary one.
 */
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { HashingStream } from '../core/digest.js';
import { CorruptBlobError } from '../store/blob-cache.js';
import type { BlobEntry, Entry } from './entries.js';
import { LAYOUT_MARKER, layoutMarker, tarMarker } from './marker.js';
import { classify, refuse, type OutputPlan } from './output-target.js';
import { copyHashed, copyVerified } from './place.js';
import { siblingName, stagingName } from './temp-names.js';

export interface WriteOptions {
  signal?: AbortSignal;
  /** Called just before an earlier ecrx output is replaced. */
  onReplace?: (target: string, previousFormat: string) => void;
}

export interface WriteResult {
  /** An earlier ecrx output was replaced. */
  replaced: boolean;
}

/** An OCI layout directory at plan.target. */
export async function writeDirectory(
  entries: Entry[],
  plan: OutputPlan,
  opts: WriteOptions = {},
): Promise<WriteResult> {
  if (plan.existing === 'empty-directory') return fillEmpty(entries, plan, opts);
  const tmp = siblingName(plan.target, 'tmp');
  try {
    await fsp.mkdir(tmp);
    await build(tmp, entries, opts.signal);
    return await settle(tmp, plan, opts);
  } catch (err) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw userPath(err, tmp, plan.target);
  }
}

/** An archive file at plan.target. */
export async function writeTarFile(
  entries: Entry[],
  plan: OutputPlan,
  format: string,
  opts: WriteOptions = {},
): Promise<WriteResult> {
  const tmp = siblingName(plan.target, 'tmp');
  try {
    await writeTar(entries, createWriteStream(tmp, { flags: 'wx' }), { format, signal: opts.signal });
    return await settle(tmp, plan, opts);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw userPath(err, tmp, plan.target);
  }
}

/** Streams entries as a tar (tar-stream) into `out`, starting with the ecrx archive marker. */
export async function writeTar(
  entries: Entry[],
  out: Writable,
  opts: { format: string; signal?: AbortSignal },
): Promise<void> {
  const tar = await import('tar-stream');
  const pack = tar.pack();
  pack.push(tarMarker(opts.format)); // a whole number of 512-byte blocks, before any entry
  const done = pipeline(pack, out);
  const mtime = new Date(0);
  const dirs = new Set<string>();
  const add = (header: Parameters<typeof pack.entry>[0], body?: Buffer) =>
    new Promise<void>((resolve, reject) =>
      pack.entry(header, body ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve())),
    );
  try {
    for (const e of entries) {
      opts.signal?.throwIfAborted();
      // Parent directories first, as docker save writes them.
      const parts = e.path.split('/');
      for (let i = 1; i < parts.length; i++) {
        const d = parts.slice(0, i).join('/');
        if (dirs.has(d)) continue;
        dirs.add(d);
        await add({ name: `${d}/`, type: 'directory', mode: 0o755, mtime });
      }
      if ('bytes' in e) {
        await add({ name: e.path, size: e.bytes.length, mode: 0o644, mtime }, e.bytes);
      } else {
        const hasher = new HashingStream();
        const entry = pack.entry({ name: e.path, size: e.size, mode: 0o644, mtime });
        await pipeline(openBlob(e), hasher, entry, { signal: opts.signal }).catch((err) =>
          Promise.reject(missingAsCorrupt(err, e)),
        );
        await expectDigest(e, hasher.digest());
      }
    }
    pack.finalize();
    await done;
  } catch (err) {
    pack.destroy(err as Error);
    await done.catch(() => undefined);
    throw err;
  }
}

/** Files copied into a layout at once: enough to hide each copy's file-system round trips behind the others. */
const COPIES_AT_ONCE = 8;

/**
 * Writes every entry under `dir`, blobs copied and hashed, several at once (a layout's files have no order), then
 * the marker that makes it provably ecrx's. The first failure stops the rest, and every copy has stopped before
 * it is thrown, so the caller's clean-up never races a copy still writing.
 */
async function build(dir: string, entries: Entry[], signal?: AbortSignal): Promise<void> {
  for (const d of new Set(entries.map((e) => dirname(join(dir, e.path))))) await fsp.mkdir(d, { recursive: true });
  const stop = new AbortController();
  const onAbort = () => stop.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let failure: { err: unknown } | undefined;
  let next = 0;
  const worker = async () => {
    while (next < entries.length && !failure) {
      const e = entries[next++];
      try {
        stop.signal.throwIfAborted();
        await writeEntry(join(dir, e.path), e, stop.signal);
      } catch (err) {
        failure ??= { err };
        stop.abort(err);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(COPIES_AT_ONCE, entries.length) }, worker));
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (failure) throw failure.err;
  await fsp.writeFile(join(dir, LAYOUT_MARKER), layoutMarker(entries), { flag: 'wx' });
}

async function writeEntry(dest: string, e: Entry, signal: AbortSignal): Promise<void> {
  if ('bytes' in e) return fsp.writeFile(dest, e.bytes, { flag: 'wx', signal });
  if (e.verifiedNow)
    return copyVerified(e.cache.path(e.digest), dest, e.size).catch((err) => Promise.reject(missingAsCorrupt(err, e)));
  const got = await copyHashed(e.cache.path(e.digest), dest, signal, e.size).catch((err) =>
    Promise.reject(missingAsCorrupt(err, e)),
  );
  await expectDigest(e, got.digest);
}

const openBlob = (e: BlobEntry) => createReadStream(e.cache.path(e.digest), { highWaterMark: 1 << 20 });

async function expectDigest(e: BlobEntry, actual: string): Promise<void> {
  if (actual === e.digest) return;
  await e.cache.remove(e.digest);
  throw new CorruptBlobError(e.digest, actual);
}

/** A cached blob that vanished (a concurrent prune) is fetched again like a corrupt one. */
function missingAsCorrupt(err: unknown, e: BlobEntry): unknown {
  const x = err as NodeJS.ErrnoException;
  return x?.code === 'ENOENT' && x.path === e.cache.path(e.digest) ? new CorruptBlobError(e.digest) : err;
}

/**
 * The finished output takes the target's name. What is there is looked at once more: it may have changed in the
 * minutes a pull takes, and only an earlier ecrx output may be replaced.
 */
async function settle(tmp: string, plan: OutputPlan, opts: WriteOptions): Promise<WriteResult> {
  const now = await classify(plan.target, plan.kind);
  if (now.existing === 'empty-directory')
    throw refuse(plan.target, `${plan.target} was created by someone else while ecrx was writing it`);
  if (now.existing === 'none') {
    await placeNew(tmp, plan);
    return { replaced: false };
  }
  opts.onReplace?.(plan.target, now.previousFormat ?? plan.kind);
  if (plan.kind === 'file') {
    await fsp.rename(tmp, plan.target); // atomic for files
    return { replaced: true };
  }
  const old = siblingName(plan.target, 'old');
  await fsp.rename(plan.target, old);
  try {
    await fsp.rename(tmp, plan.target);
  } catch (err) {
    await fsp.rename(old, plan.target).catch(() => undefined);
    throw err;
  }
  await fsp.rm(old, { recursive: true, force: true });
  return { replaced: true };
}

/** Gives a new output its name without ever replacing something that appeared there meanwhile. */
async function placeNew(tmp: string, plan: OutputPlan): Promise<void> {
  const appeared = () => refuse(plan.target, `${plan.target} was created by someone else while ecrx was writing it`);
  if (plan.kind === 'directory') {
    // rename(2) would replace an empty directory and fails on a non-empty one: classify just saw none.
    await fsp
      .rename(tmp, plan.target)
      .catch((err) => Promise.reject(['ENOTEMPTY', 'EEXIST'].includes(err?.code) ? appeared() : err));
    return;
  }
  // link(2) never replaces: a file that appeared since classify makes it fail instead of being overwritten.
  try {
    await fsp.link(tmp, plan.target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw appeared();
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'ENOSYS'].includes(code ?? '')) throw err;
    await fsp.rename(tmp, plan.target); // a file system without hard links
    return;
  }
  await fsp.rm(tmp, { force: true });
}

/**
 * Fills an empty directory in place (it may be a mount point, and holds nothing to lose): built in a staging
 * directory inside it, then moved up, index.json last, so the directory is a readable layout only when complete.
 */
async function fillEmpty(entries: Entry[], plan: OutputPlan, opts: WriteOptions): Promise<WriteResult> {
  const staging = stagingName(plan.target);
  const moved: string[] = [];
  try {
    await fsp.mkdir(staging);
    await build(staging, entries, opts.signal);
    const others = (await fsp.readdir(plan.target)).filter((n) => join(plan.target, n) !== staging);
    if (others.length)
      throw refuse(plan.target, `${plan.target} changed while ecrx was writing into it (it now holds ${others[0]})`);
    const names = await fsp.readdir(staging);
    for (const name of [...names.filter((n) => n !== 'index.json'), 'index.json']) {
      await fsp.rename(join(staging, name), join(plan.target, name));
      moved.push(name);
    }
    await fsp.rmdir(staging);
    return { replaced: false };
  } catch (err) {
    for (const name of moved) await fsp.rename(join(plan.target, name), join(staging, name)).catch(() => undefined);
    await fsp.rm(staging, { recursive: true, force: true });
    throw userPath(err, staging, plan.target);
  }
}

/**
 * Rewrites the temporary path in a file-system error to the path the user gave; an error without a path (a write
 * to a file descriptor) was about the output too.
 */
function userPath(err: unknown, tmp: string, target: string): unknown {
  if (!err || typeof err !== 'object') return err;
  const e = err as NodeJS.ErrnoException & { dest?: string };
  const fix = (s: string) => s.split(tmp).join(target);
  if (typeof e.path === 'string') e.path = fix(e.path);
  else if (typeof e.code === 'string' && typeof e.syscall === 'string') e.path = target;
  if (typeof e.dest === 'string') e.dest = fix(e.dest);
  if (typeof e.message === 'string') e.message = fix(e.message);
  return err;
}
