/**
 * `ecrx copy`: ECR to ECR, across repositories, regions and accounts (each side from its own reference), through
 * the local cache, fetching only the blobs the destination lacks. The manifest bytes, and so the digest, are kept.
 */
import { formatReference, type ImageRef } from '../core/reference.js';
import type { Ecr } from '../ecr/client.js';
import type { BlobCache } from '../store/blob-cache.js';
import { copyReferrers } from './referrers.js';
import { resolveFromEcr } from '../sources/ecr.js';
import { availableBlobs, pushToEcr } from '../sinks/ecr.js';
import { fetchBlobs } from './fetch-blobs.js';
import { configPlatform, configToCheckFirst } from './platform-check.js';
import type { TransferEvents } from './events.js';

export interface CopyOptions {
  concurrency: number;
  /** Also copy the image's referrers (signatures, SBOMs, attestations), recursively. */
  referrers?: boolean;
}

export interface CopySides {
  from: Ecr;
  to: Ecr;
  cache: BlobCache;
  events: TransferEvents;
}

/** One image from `src` to `dstRepository` under `tags`: only the blobs the destination lacks move. */
export async function copyImage(
  sides: CopySides,
  src: ImageRef,
  dstRepository: string,
  tags: string[],
  flags: CopyOptions,
  platform: string,
  signal: AbortSignal,
) {
  const { from, to, cache, events: reporter } = sides;
  reporter.phase(`resolving ${formatReference(src)}`);
  const resolved = await resolveFromEcr(from, src, platform, signal);
  const { set } = resolved;
  const checkFirst = configToCheckFirst(set, resolved.platform, platform);
  await fetchBlobs({
    ecr: from,
    repository: src.repository,
    blobs: checkFirst,
    images: set.images,
    cache,
    concurrency: 1,
    reporter,
    signal,
  });
  const platformLabel = checkFirst.length
    ? await configPlatform(set, cache, platform, formatReference(src))
    : resolved.platform;
  const present = await availableBlobs(
    to,
    dstRepository,
    set.blobs.map((b) => b.digest),
    signal,
  );
  const needed = set.blobs.filter((b) => !present.has(b.digest));
  let bytesDownloaded = 0;
  await fetchBlobs({
    ecr: from,
    repository: src.repository,
    blobs: needed,
    images: set.images,
    cache,
    concurrency: flags.concurrency,
    reporter,
    signal,
    onBytes: (n) => (bytesDownloaded += n),
  });
  const result = await pushToEcr({
    ecr: to,
    repository: dstRepository,
    set,
    blobPath: (d) => cache.path(d),
    tags,
    concurrency: flags.concurrency,
    reporter,
    signal,
  });
  const referrers = flags.referrers
    ? await copyReferrers({
        from: from,
        to: to,
        srcRepository: src.repository,
        dstRepository,
        subjects: set.manifests.map((m) => m.digest),
        cache,
        concurrency: flags.concurrency,
        reporter,
        signal,
      })
    : undefined;
  return { resolved, set, platformLabel, needed, bytesDownloaded, result, referrers };
}
