/**
 * `ecrx cache ls | prune | verify`: what the blob cache holds, trimming it, re-hashing it. None of them creates
 * anything: a mistyped --cache-dir is reported as holding no cache, not made into one. Whatever else sits where
 * blobs live (directories, links, FIFOs, odd names) is listed as junk, never read; `verify` removes it.
 */
import { statSync } from 'node:fs';
import { EcrxError } from '../../core/errors.js';
import { printSuccess, type OutputMode } from '../output.js';
import { BlobCache, defaultCacheDir, type CacheJunk } from '../../store/blob-cache.js';
import { formatBytes, plural } from '../../report/format.js';

export interface CacheFlags extends OutputMode {
  cacheDir?: string;
  olderThan?: string;
  maxSize?: string;
}

export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d|w)$/.exec(text.trim());
  if (!m)
    throw new EcrxError('VALIDATION_ERROR', `Invalid duration '${text}'`, {
      hint: 'Use a number and a unit: 30m, 12h, 7d, 2w.',
    });
  const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as 's']!;
  return Number(m[1]) * unit * 1000;
}

export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|K|KB|KiB|M|MB|MiB|G|GB|GiB|T|TB|TiB)?$/i.exec(text.trim());
  if (!m)
    throw new EcrxError('VALIDATION_ERROR', `Invalid size '${text}'`, {
      hint: 'Use a number and a unit: 500M, 10G, 1.5GiB.',
    });
  const u = (m[2] ?? 'B').toUpperCase().replace('IB', '').replace(/B$/, '') || 'B';
  const mult = { B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[u as 'B'] ?? 1;
  return Math.floor(Number(m[1]) * mult);
}

/** Opens the cache for looking after it, creating nothing; a path that is there but not a directory is refused. */
function lookAt(flags: CacheFlags): BlobCache {
  const root = flags.cacheDir ?? defaultCacheDir();
  const st = statSync(root, { throwIfNoEntry: false });
  if (st && !st.isDirectory()) {
    throw new EcrxError('OUTPUT_ERROR', `The blob cache ${root} is not a directory`, {
      hint: 'Check --cache-dir (or ECRX_CACHE_DIR).',
      details: { cacheDir: root },
    });
  }
  const cache = new BlobCache(root, { create: false });
  cache.sweepStaleTemp();
  return cache;
}

const junkLine = (junk: CacheJunk[]) =>
  junk.length
    ? ` (and ${junk.length} entr${junk.length === 1 ? 'y' : 'ies'} that are not blobs: ${junk.map((j) => `${j.name}, a ${j.kind}`).join('; ')})`
    : '';
const absent = (root: string) => `No blob cache at ${root} (nothing cached there; it was not created)`;

export async function cacheLs(flags: CacheFlags): Promise<void> {
  const cache = lookAt(flags);
  const exists = cache.exists();
  const { blobs, junk } = cache.scan();
  blobs.sort((a, b) => b.atimeMs - a.atimeMs);
  const total = blobs.reduce((n, b) => n + b.size, 0);
  const partials = cache.partials.list().sort((a, b) => b.mtimeMs - a.mtimeMs);
  const data = {
    cacheDir: cache.root,
    exists,
    count: blobs.length,
    totalBytes: total,
    blobs: blobs.map((b) => ({
      digest: b.digest,
      size: b.size,
      lastUsed: new Date(Math.max(b.atimeMs, b.mtimeMs)).toISOString(),
    })),
    junk,
    // Unfinished downloads an earlier run left: the next pull or copy of that blob continues from them.
    partials: partials.map((p) => ({
      digest: p.digest,
      size: p.size,
      bytes: p.bytes,
      lastUsed: new Date(p.mtimeMs).toISOString(),
      inUse: p.locked,
    })),
  };
  printSuccess(flags, data, () =>
    exists
      ? [
          ...blobs.map((b) => `${b.digest}  ${formatBytes(b.size).padStart(10)}`),
          ...partials.map(
            (p) =>
              `${p.digest}  ${formatBytes(p.bytes).padStart(10)}  partial, of ${formatBytes(p.size)}${p.locked ? ' (downloading now)' : ''}`,
          ),
          `${plural(blobs.length, 'blob')}, ${formatBytes(total)} in ${cache.root}${partials.length ? `; ${plural(partials.length, 'unfinished download')} (${formatBytes(partials.reduce((n, p) => n + p.bytes, 0))}), continued by the next pull` : ''}${junkLine(junk)}`,
        ].join('\n')
      : absent(cache.root),
  );
}

export async function cachePrune(flags: CacheFlags): Promise<void> {
  const cache = lookAt(flags);
  const olderThan = flags.olderThan !== undefined ? parseDuration(flags.olderThan) : undefined;
  const maxSize = flags.maxSize !== undefined ? parseSize(flags.maxSize) : undefined;
  const now = Date.now();
  // Least recently used first; without limits, prune removes everything.
  const blobs = cache.list().sort((a, b) => Math.max(a.atimeMs, a.mtimeMs) - Math.max(b.atimeMs, b.mtimeMs));
  let total = blobs.reduce((n, b) => n + b.size, 0);
  const removed: { digest: string; size: number }[] = [];
  for (const b of blobs) {
    const used = Math.max(b.atimeMs, b.mtimeMs);
    const tooOld = olderThan !== undefined && now - used > olderThan;
    const tooBig = maxSize !== undefined && total > maxSize;
    const everything = olderThan === undefined && maxSize === undefined;
    if (!(tooOld || tooBig || everything)) continue;
    await cache.remove(b.digest);
    total -= b.size;
    removed.push({ digest: b.digest, size: b.size });
  }
  // Unfinished downloads go when older than --older-than, or all of them without limits; never one being written.
  const partialsRemoved: { digest: string; bytes: number }[] = [];
  for (const p of cache.partials.list()) {
    const everything = olderThan === undefined && maxSize === undefined;
    if (!everything && !(olderThan !== undefined && now - p.mtimeMs > olderThan)) continue;
    if (await cache.partials.removeIfUnlocked(p.digest)) partialsRemoved.push({ digest: p.digest, bytes: p.bytes });
  }
  // Without limits prune empties the cache, junk included.
  const junk = olderThan === undefined && maxSize === undefined ? cache.scan().junk : [];
  for (const j of junk) await cache.removeJunk(j.name);
  const freed = removed.reduce((n, b) => n + b.size, 0);
  printSuccess(
    flags,
    { cacheDir: cache.root, removed, freedBytes: freed, remainingBytes: total, junkRemoved: junk, partialsRemoved },
    () =>
      cache.exists()
        ? `Removed ${plural(removed.length, 'blob')} (${formatBytes(freed)})${partialsRemoved.length ? ` and ${plural(partialsRemoved.length, 'unfinished download')}` : ''}; ${formatBytes(total)} left in ${cache.root}${junk.length ? `; removed ${plural(junk.length, 'entry', 'entries')} that were not blobs` : ''}`
        : absent(cache.root),
  );
}

export async function cacheVerify(flags: CacheFlags): Promise<void> {
  const cache = lookAt(flags);
  const note = (line: string) => !flags.json && !flags.quiet && process.stderr.write(`cache: ${line}\n`);
  const bad: { digest: string; actual: string | null }[] = [];
  const { blobs, junk } = cache.scan();
  for (const b of blobs) {
    let actual: string | null;
    try {
      const v = await cache.verify(b.digest);
      if (v.ok) continue;
      actual = v.actual;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed meanwhile by a prune
      actual = null; // unreadable: as useless as a wrong one
    }
    await cache.remove(b.digest);
    bad.push({ digest: b.digest, actual });
    note(`removed ${b.digest}: ${actual ? `its content hashes to ${actual}` : 'it cannot be read'}`);
  }
  for (const j of junk) {
    await cache.removeJunk(j.name);
    note(`removed ${j.name} from ${cache.blobsDir}: a ${j.kind}, not a blob`);
  }
  const data = { cacheDir: cache.root, checked: blobs.length, removed: bad, junkRemoved: junk };
  printSuccess(flags, data, () =>
    cache.exists() || blobs.length
      ? `Checked ${plural(blobs.length, 'blob')} in ${cache.root}: ${bad.length ? `${bad.length} bad, removed` : 'all good'}${junk.length ? `; removed ${plural(junk.length, 'entry', 'entries')} that were not blobs` : ''}`
      : absent(cache.root),
  );
}
