/**
 * `ecrx copy`: ECR to ECR, across repositories, regions and accounts (each side from its own reference), through
 * the local cache, fetching only the blobs the destination lacks. The manifest bytes, and so the digest, are kept.
 */
import type { ImageRef } from '../core/reference.js';
import type { Ecr } from '../ecr/client.js';
import type { BlobCache } from '../store/blob-cache.js';
import { EcrSource } from '../sources/ecr.js';
import { EcrSink, ECR_UPLOADS_AT_ONCE } from '../sinks/ecr.js';
import { copyReferrers } from './referrers.js';
import { cached } from './cached.js';
import { transfer } from './transfer.js';
import { noEvents, type TransferEvents } from './events.js';

export interface CopyOptions {
  /** Blobs at once; unset: ECR_UPLOADS_AT_ONCE. */
  concurrency?: number;
  /** Also copy the image's referrers (signatures, SBOMs, attestations), recursively. */
  referrers?: boolean;
}

export interface CopySides {
  from: Ecr;
  to: Ecr;
  cache: BlobCache;
  events: TransferEvents;
}

/** Download events of the cache fill: only retries and notices show; the bars follow the uploads. */
const fillEvents = (events: TransferEvents): TransferEvents => ({
  ...noEvents,
  retry: (what, why) => events.retry(what, why),
  notice: (text) => events.notice(text),
});

/**
 * One image from `src` to `dstRepository` under `tags`, a preset of transfer(): ECR through the cache into ECR.
 * Only the blobs the destination lacks move; each is uploaded as soon as it is in the cache, while others download.
 */
export async function copyImage(
  sides: CopySides,
  src: ImageRef,
  dstRepository: string,
  tags: string[],
  flags: CopyOptions,
  platform: string,
  signal: AbortSignal,
) {
  const { from, to, cache, events } = sides;
  const source = new EcrSource(from, src);
  const sink = new EcrSink(to, dstRepository, { spool: cache, events });
  const filled = cached(source, cache, { events: fillEvents(events) });
  const r = await transfer(
    filled,
    sink,
    { platform, tags },
    { concurrency: flags.concurrency ?? ECR_UPLOADS_AT_ONCE, events, signal },
  );
  const { set } = r;
  const referrers = flags.referrers
    ? await copyReferrers({
        from,
        to,
        srcRepository: src.repository,
        dstRepository,
        subjects: set.manifests.map((m) => m.digest),
        cache,
        concurrency: flags.concurrency ?? ECR_UPLOADS_AT_ONCE,
        reporter: events,
        signal,
      })
    : undefined;
  return {
    registryId: source.registryId ?? '',
    set,
    platformLabel: r.platform,
    needed: r.blobs.filter((b) => b.moved),
    bytesDownloaded: source.bytesDownloaded,
    bytesReused: filled.bytesReused,
    result: {
      registryId: r.sink.registryId,
      layers: r.blobs.map((b) => ({ digest: b.digest, size: b.size, uploaded: sink.didUpload(b.digest) })),
      bytesUploaded: r.bytesMoved,
    },
    referrers,
  };
}
