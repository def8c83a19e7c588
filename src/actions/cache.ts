/** `ecrx cache ls | prune | verify`: what the blob cache holds, trimming it, re-hashing it. */
import { EcrxError } from '../core/errors.js';
import { printSuccess, type OutputMode } from '../cli/output.js';
import { openCache } from '../transfer/session.js';
import { formatBytes } from '../ui/format.js';

export interface CacheFlags extends OutputMode {
  cacheDir?: string;
  olderThan?: string;
  maxSize?: string;
}

export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(s|m|h|d|w)$/.exec(text.trim());
  if (!m) throw new EcrxError('VALIDATION_ERROR', `Invalid duration '${text}'`, { hint: 'Use a number and a unit: 30m, 12h, 7d, 2w.' });
  const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as 's']!;
  return Number(m[1]) * unit * 1000;
}

export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|K|KB|KiB|M|MB|MiB|G|GB|GiB|T|TB|TiB)?$/i.exec(text.trim());
  if (!m) throw new EcrxError('VALIDATION_ERROR', `Invalid size '${text}'`, { hint: 'Use a number and a unit: 500M, 10G, 1.5GiB.' });
  const u = (m[2] ?? 'B').toUpperCase().replace('IB', '').replace(/B$/, '') || 'B';
  const mult = { B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[u as 'B'] ?? 1;
  return Math.floor(Number(m[1]) * mult);
}

export async function cacheLs(flags: CacheFlags): Promise<void> {
  const cache = openCache(flags);
  const blobs = cache.list().sort((a, b) => b.atimeMs - a.atimeMs);
  const total = blobs.reduce((n, b) => n + b.size, 0);
  printSuccess(flags, { cacheDir: cache.root, count: blobs.length, totalBytes: total, blobs: blobs.map((b) => ({ digest: b.digest, size: b.size, lastUsed: new Date(Math.max(b.atimeMs, b.mtimeMs)).toISOString() })) }, () =>
    [...blobs.map((b) => `${b.digest}  ${formatBytes(b.size).padStart(10)}`), `${blobs.length} blobs, ${formatBytes(total)} in ${cache.root}`].join('\n'),
  );
}

export async function cachePrune(flags: CacheFlags): Promise<void> {
  const cache = openCache(flags);
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
  const freed = removed.reduce((n, b) => n + b.size, 0);
  printSuccess(flags, { cacheDir: cache.root, removed, freedBytes: freed, remainingBytes: total }, () => `Removed ${removed.length} blobs (${formatBytes(freed)}); ${formatBytes(total)} left in ${cache.root}`);
}

export async function cacheVerify(flags: CacheFlags): Promise<void> {
  const cache = openCache(flags);
  const bad: { digest: string; actual: string }[] = [];
  const blobs = cache.list();
  for (const b of blobs) {
    const { ok, actual } = await cache.verify(b.digest);
    if (!ok) {
      await cache.remove(b.digest);
      bad.push({ digest: b.digest, actual });
      if (!flags.json && !flags.quiet) process.stderr.write(`cache: removed ${b.digest}: its content hashes to ${actual}\n`);
    }
  }
  printSuccess(flags, { cacheDir: cache.root, checked: blobs.length, removed: bad }, () => `Checked ${blobs.length} blobs in ${cache.root}: ${bad.length ? `${bad.length} bad, removed` : 'all good'}`);
}
