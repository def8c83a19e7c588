/**
 * The cache as a wrapper: `cached(source, store)` is an ImageSource that serves every blob from the store, filling
 * the store from `source` on a miss, so a command never branches on the cache. A blob in the store was verified
 * when it entered (and a hit is re-hashed by hasVerified), so the wrapper is `trusted`: the engine hands the
 * store's file to the sink as it is.
 *
 * Filling needs a source that can write a blob into a store by itself (StoreFiller: ECR's downloadToCache, with its
 * URL refresh and resume); a generic fill from openBlob arrives with store/ingest.ts.
 */
import { createReadStream } from 'node:fs';
import type { Descriptor } from '../oci/manifest.js';
import type { BlobStore } from '../store/blob-store.js';
import type { BlobRange, ImageSource, OpenedBlob, ResolvedImage, StreamingBlob } from '../sources/source.js';
import { GrowingFile, type GrowingWriter } from '../core/growing.js';
import { noEvents, type TransferEvents } from './events.js';

export interface FillOptions {
  signal?: AbortSignal;
  events: TransferEvents;
  /** Told where the fill writes and how far its verified-in-order prefix reaches, for a reader streaming it. */
  growing?: GrowingWriter;
}

/** A source that can put a blob into a store itself, verified by digest. */
export interface StoreFiller {
  fill(d: Descriptor, store: BlobStore, opts: FillOptions): Promise<void>;
}

export interface CachedOptions {
  events?: TransferEvents;
  /** Re-hash a hit before trusting it (default true). */
  verifyHits?: boolean;
}

export function cached(source: ImageSource & StoreFiller, store: BlobStore, opts: CachedOptions = {}): ImageSource {
  const events = opts.events ?? noEvents;
  // One fill per digest, however many readers ask for it at once.
  const filling = new Map<string, Promise<void>>();
  const ready = new Set<string>();
  const ensure = (d: Descriptor, signal?: AbortSignal, growing?: GrowingWriter): Promise<void> => {
    let p = filling.get(d.digest);
    if (!p) {
      p = (async () => {
        const hit =
          opts.verifyHits === false
            ? store.has(d.digest, d.size)
            : await store.hasVerified(d.digest, d.size, { signal });
        if (!hit) await source.fill(d, store, { signal, events, growing });
        ready.add(d.digest);
      })();
      filling.set(d.digest, p);
      p.catch(() => filling.delete(d.digest));
    }
    return p;
  };
  return {
    name: source.name,
    ranged: false,
    trusted: true,
    resolve: (o): Promise<ResolvedImage> => source.resolve(o),
    async openBlob(d: Descriptor, o: { range?: BlobRange; signal?: AbortSignal }): Promise<OpenedBlob> {
      await ensure(d, o.signal);
      const start = o.range?.offset ?? 0;
      const end = o.range?.length !== undefined ? start + o.range.length - 1 : undefined;
      return { body: createReadStream(store.path(d.digest), { start, end, highWaterMark: 1 << 20 }), offset: start };
    },
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
    // Only a blob checked or filled in this run: a file merely present may have rotted since it entered.
    prepare: (d, o) => ensure(d, o.signal),
    localPath: (digest) => (ready.has(digest) ? store.path(digest) : undefined),
    close: () => source.close?.() ?? Promise.resolve(),
  };
}
