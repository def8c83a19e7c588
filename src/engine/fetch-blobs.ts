/**
 * Makes sure every blob of an image set is in the cache. A blob already there (right name, right size, and by
 * default re-hashed) costs no API call; GetDownloadUrlForLayer is called only for the others, which download
 * concurrently (p-limit). A cached blob that no longer matches its digest is removed and downloaded again.
 */
import type { BlobCache } from '../store/blob-cache.js';
import type { Ecr } from '../ecr/client.js';
import { downloadToCache } from '../sources/ecr-download.js';
import type { Descriptor } from '../oci/manifest.js';
import { blobLabel, type ImageEntry } from '../oci/image-set.js';
import type { TransferEvents } from './events.js';
import { shortDigest } from '../core/digest.js';
import { downloadUrl } from '../sources/ecr.js';
import { AbortScope } from '../core/abort-scope.js';

export interface FetchResult {
  digest: string;
  cached: boolean;
}

export interface FetchOptions {
  ecr: Ecr;
  repository: string;
  blobs: Descriptor[];
  images: ImageEntry[];
  cache: BlobCache;
  concurrency: number;
  reporter: TransferEvents;
  signal?: AbortSignal;
  /** Called with the bytes newly downloaded so far, summed over blobs. */
  onBytes?: (delta: number) => void;
  /**
   * Re-hash cached blobs before trusting them (default true). Off only for a caller that hashes every cached blob
   * as it copies it anyway (pull into a file or directory), so checking costs no second read.
   */
  verifyHits?: boolean;
}

export async function fetchBlobs(o: FetchOptions): Promise<Map<string, FetchResult>> {
  const { default: pLimit } = await import('p-limit');
  const limit = pLimit(o.concurrency);
  const results = new Map<string, FetchResult>();
  o.reporter.expect?.(
    o.blobs.map((d) => ({ digest: d.digest, size: d.size, label: blobLabel(o.images, d.digest) })),
    'download',
  );
  // The first failure stops the other downloads instead of letting them run on behind an error. Each download
  // gets a signal of its own (see AbortScope), so 16 at once do not pile their listeners onto one signal.
  const scope = new AbortScope(o.signal);
  try {
    await Promise.all(
      o.blobs.map((d) =>
        limit(async () => {
          if (scope.signal.aborted) return;
          try {
            await scope.run((signal) => fetchOne(d, signal));
          } catch (err) {
            scope.fail(err);
          }
        }),
      ),
    );
  } finally {
    scope.dispose();
  }
  scope.throwIfFailed();
  return results;

  async function fetchOne(d: Descriptor, signal: AbortSignal): Promise<void> {
    const info = { digest: d.digest, size: d.size, label: blobLabel(o.images, d.digest) };
    const onCorrupt = (digest: string, actual: string) =>
      o.reporter.notice(
        `cache: ${digest} was corrupt (its content hashes to ${actual}): removed it, downloading it again`,
      );
    const hit =
      o.verifyHits === false
        ? o.cache.has(d.digest, d.size)
        : await o.cache.hasVerified(d.digest, d.size, { signal, onCorrupt });
    if (hit) {
      o.reporter.blobSkipped(info, 'cached');
      results.set(d.digest, { digest: d.digest, cached: true });
      return;
    }
    o.reporter.blobStart(info);
    const url = downloadUrl(o.ecr, o.repository, () => o.images.map((i) => i.digest), d.digest);
    let last = 0;
    await downloadToCache({
      digest: d.digest,
      size: d.size,
      cache: o.cache,
      signal,
      maxStalled: o.ecr.maxAttempts,
      getUrl: (fresh) => url(fresh, signal),
      onProgress: (bytes) => {
        o.onBytes?.(bytes - last);
        last = bytes;
        o.reporter.blobProgress(d.digest, bytes);
      },
      onRetry: (reason) => o.reporter.retry(shortDigest(d.digest), reason),
    });
    o.reporter.blobDone(d.digest);
    results.set(d.digest, { digest: d.digest, cached: false });
  }
}
