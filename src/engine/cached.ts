/**
 * The cache as a wrapper: `cached(source, store)` is an ImageSource that serves every blob from the store, filling
 * the store from `source` on a miss, so a command never branches on the cache. A blob in the store was verified
 * when it entered (and a hit is re-hashed by hasVerified), so the wrapper is `trusted`: the engine hands the
 * store's file to the sink as it is.
 *
 * A source that can write a blob into a store by itself (StoreFiller: ECR's downloadToCache, with its URL refresh
 * and resume) fills it that way; a remote source (a registry) goes through store/ingest.ts over its openBlob
 * (ranged, resumable, verified); a local one is read through openBlob into a temporary file of the store, hashed
 * on the way, and committed under its digest only when it matches.
 */
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Descriptor } from '../oci/manifest.js';
import type { BlobStore } from '../store/blob-store.js';
import type { BlobRange, ImageSource, OpenedBlob, ResolvedImage, StreamingBlob } from '../sources/source.js';
import { GrowingFile, type GrowingWriter } from '../core/growing.js';
import { noEvents, type TransferEvents } from './events.js';
import { verifier } from './verify.js';
import { ingest } from '../store/ingest.js';
import { shortDigest } from '../core/digest.js';

export interface FillOptions {
  signal?: AbortSignal;
  events: TransferEvents;
  /** Told where the fill writes and how far its verified-in-order prefix reaches, for a reader streaming it. */
  growing?: GrowingWriter;
}

/** What a fill moved: bytes fetched now, and bytes an earlier, interrupted run had left (a partial). */
export interface FillResult {
  downloadedBytes: number;
  reusedBytes: number;
}

/** A source that can put a blob into a store itself, verified by digest. */
export interface StoreFiller {
  fill(d: Descriptor, store: BlobStore, opts: FillOptions): Promise<FillResult | void>;
}

export interface CachedOptions {
  events?: TransferEvents;
  /**
   * Re-hash a hit before trusting it (default true). Off (for all blobs, or those the function declines) only for a
   * caller that hashes every cached blob as it copies it anyway (pull into a file or directory).
   */
  verifyHits?: boolean | ((d: Descriptor) => boolean);
}

/** The wrapper, with what a pull reports and heals by. */
export interface CachedSource extends ImageSource {
  /** Blobs the store already held in this run (not filled). */
  readonly hits: ReadonlySet<string>;
  /** Blobs this run put into the store (downloaded and verified now), as opposed to hits from earlier runs. */
  readonly filled: ReadonlySet<string>;
  /** Bytes fetched from the source in this run to fill the store. */
  readonly bytesFilled: number;
  /** Bytes of partials earlier, interrupted runs left that this run continued from instead of fetching again. */
  readonly bytesReused: number;
  /** Fills a blob again after it was found corrupt (and removed) in the store. */
  refill(d: Descriptor, signal?: AbortSignal): Promise<void>;
}

/** One promise per digest, however many readers ask at once; forgotten if it fails, so a later ask tries again. */
function memo<T>(map: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
  let p = map.get(key);
  if (!p) {
    p = make();
    map.set(key, p);
    p.catch(() => map.delete(key));
  }
  return p;
}

export function cached(source: ImageSource & Partial<StoreFiller>, store: BlobStore, opts: CachedOptions = {}) {
  const events = opts.events ?? noEvents;
  const checks = new Map<string, Promise<boolean>>();
  const filling = new Map<string, Promise<void>>();
  const ready = new Set<string>();
  const hits = new Set<string>();
  const filled = new Set<string>();
  let bytesFilled = 0;
  let bytesReused = 0;
  const verify = (d: Descriptor) =>
    typeof opts.verifyHits === 'function' ? opts.verifyHits(d) : opts.verifyHits !== false;
  const onCorrupt = (digest: string, actual: string) =>
    events.notice(`cache: ${digest} was corrupt (its content hashes to ${actual}): removed it, downloading it again`);
  const check = (d: Descriptor, signal?: AbortSignal) =>
    memo(checks, d.digest, async () => {
      // BlobCache also takes onCorrupt; a BlobStore without it ignores the extra field.
      const checkOpts = { signal, onCorrupt };
      const hit = verify(d) ? await store.hasVerified(d.digest, d.size, checkOpts) : store.has(d.digest, d.size);
      if (hit) hits.add(d.digest);
      return hit;
    });
  const fillOne = async (d: Descriptor, signal?: AbortSignal, growing?: GrowingWriter): Promise<void> => {
    // Summed after the await: `x += await y` would read x before it and lose a concurrent fill's bytes.
    const got = source.fill
      ? await source.fill(d, store, { signal, events, growing })
      : await fillFromOpen(source, d, store, events, signal);
    bytesFilled += got?.downloadedBytes ?? 0;
    bytesReused += got?.reusedBytes ?? 0;
    filled.add(d.digest);
  };
  const ensure = (d: Descriptor, signal?: AbortSignal, growing?: GrowingWriter) =>
    memo(filling, d.digest, async () => {
      if (!(await check(d, signal))) await fillOne(d, signal, growing);
      ready.add(d.digest);
    });
  const wrapper: CachedSource = {
    name: source.name,
    ranged: false,
    trusted: true,
    hits,
    filled,
    get bytesFilled() {
      return bytesFilled;
    },
    get bytesReused() {
      return bytesReused;
    },
    resolve: (o): Promise<ResolvedImage> => source.resolve(o),
    async openBlob(d: Descriptor, o: { range?: BlobRange; signal?: AbortSignal }): Promise<OpenedBlob> {
      await ensure(d, o.signal);
      const start = o.range?.offset ?? 0;
      const end = o.range?.length !== undefined ? start + o.range.length - 1 : undefined;
      return { body: createReadStream(store.path(d.digest), { start, end, highWaterMark: 1 << 20 }), offset: start };
    },
    hit: (d, o) => check(d, o.signal),
    stream(d: Descriptor, o: { signal?: AbortSignal }): StreamingBlob {
      const file = new GrowingFile(d.size, store.path(d.digest));
      // A fill already under way for another reader tells this file only when it is done.
      const done = ensure(d, o.signal, file);
      done.then(
        () => file.done(),
        (err: unknown) => file.fail(err),
      );
      return { file, done };
    },
    willNeed(ds, o) {
      if (!source.willNeed) return;
      const hint = source.willNeed.bind(source);
      // Only the blobs the store lacks: a hit needs nothing from the source. One check at a time, in order (a
      // verified hit is hashed), and they are the checks the moves make anyway (memoised). A failed hint is none.
      void (async () => {
        for (const d of ds) {
          if (o.signal?.aborted) return;
          if (!(await check(d, o.signal))) hint([d], o);
        }
      })().catch(() => undefined);
    },
    // Only a blob checked or filled in this run: a file merely present may have rotted since it entered.
    prepare: (d, o) => ensure(d, o.signal),
    localPath: (digest) => (ready.has(digest) ? store.path(digest) : undefined),
    refill: (d, signal) => {
      hits.delete(d.digest);
      ready.delete(d.digest);
      filling.delete(d.digest);
      checks.set(d.digest, Promise.resolve(false));
      return ensure(d, signal);
    },
    close: () => source.close?.() ?? Promise.resolve(),
  };
  return wrapper;
}

/** A blob read through openBlob into the store: hashed on the way, committed only on a match. Returns the bytes read. */
async function fillFromOpen(
  source: ImageSource,
  d: Descriptor,
  store: BlobStore,
  events: TransferEvents,
  signal?: AbortSignal,
): Promise<FillResult> {
  // A remote source (a registry) gets what ECR downloads get: ranges over several connections for a large blob,
  // cut ranges resumed, and a partial kept for the next run when this one is stopped.
  if (source.ranged) {
    const r = await ingest({
      digest: d.digest,
      size: d.size,
      cache: store,
      signal,
      open: (range, s) => source.openBlob(d, { range, signal: s }),
      onProgress: (bytes) => events.blobProgress(d.digest, bytes),
      onRetry: (reason) => events.retry(shortDigest(d.digest), reason),
    });
    return r;
  }
  const check = verifier(d, source.name);
  const tmp = store.tmpPath(d.digest.slice(7, 19));
  let bytes = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      events.blobProgress(d.digest, bytes);
      cb(null, chunk);
    },
  });
  try {
    const opened = await source.openBlob(d, { signal });
    await pipeline(check.watch(opened.body, 0), count, createWriteStream(tmp, { flags: 'wx' }), { signal });
    await check.verified;
    await store.commit(tmp, d.digest);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  return { downloadedBytes: bytes, reusedBytes: 0 };
}
