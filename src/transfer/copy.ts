/**
 * `ecrx copy`: ECR to ECR, across repositories, regions and accounts (each side from its own reference), through
 * the local cache, fetching only the blobs the destination lacks. The manifest bytes, and so the digest, are kept.
 */
import { EcrxError } from '../core/errors.js';
import { formatReference, parseReference, registryHost } from '../core/reference.js';
import type { EcrFlags } from '../cli/common.js';
import { printSuccess } from '../cli/output.js';
import { formatBytes, formatDuration, plural } from '../ui/format.js';
import { resolveFromEcr } from './ecr-source.js';
import { availableBlobs, pushToEcr } from './ecr-sink.js';
import { fetchBlobs } from './fetch-blobs.js';
import { openCache, openSession } from './session.js';
import { parsePlatform } from '../oci/platform.js';

export interface CopyFlags extends EcrFlags {
  platform?: string;
  concurrency: number;
  cacheDir?: string;
  tag?: string[];
}

export async function copy(srcText: string, dstText: string, flags: CopyFlags, signal: AbortSignal): Promise<void> {
  const started = Date.now();
  const src = parseReference(srcText);
  const dst = parseReference(dstText, { defaultTag: false });
  const platform = flags.platform ?? 'all';
  if (platform !== 'all') parsePlatform(platform);
  if (dst.digest) throw new EcrxError('VALIDATION_ERROR', 'The destination takes a tag, not a digest: the digest is the source\'s', { hint: `For example: ecrx copy ${srcText} ${dst.repository}:${src.tag ?? 'copy'}` });
  const tags = dst.tag ? [dst.tag] : src.tag ? [src.tag] : [];
  const from = await openSession(flags, 'copy', src);
  const to = await openSession({ ...flags, quiet: true }, 'copy', dst);
  const reporter = from.reporter;
  try {
    reporter.phase(`resolving ${formatReference(src)}`);
    const resolved = await resolveFromEcr(from.ecr, src, platform, signal);
    const { set } = resolved;
    const cache = openCache(flags);
    const present = await availableBlobs(to.ecr, dst.repository, set.blobs.map((b) => b.digest), signal);
    const needed = set.blobs.filter((b) => !present.has(b.digest));
    let bytesDownloaded = 0;
    await fetchBlobs({ ecr: from.ecr, repository: src.repository, blobs: needed, images: set.images, cache, concurrency: flags.concurrency, reporter, signal, onBytes: (n) => (bytesDownloaded += n) });
    const result = await pushToEcr({ ecr: to.ecr, repository: dst.repository, set, blobPath: (d) => cache.path(d), tags, concurrency: flags.concurrency, reporter, signal });
    reporter.stop();
    const region = await to.ecr.region();
    const registryId = result.registryId ?? dst.registryId ?? flags.registryId ?? null;
    const data = {
      source: `${registryHost(resolved.registryId, await from.ecr.region(), src.fips)}/${formatReference(src)}`,
      destination: `${registryId ? `${registryHost(registryId, region, dst.fips)}/` : ''}${formatReference({ repository: dst.repository, tag: tags[0] })}`,
      digest: set.top.digest,
      mediaType: set.top.mediaType,
      platform: resolved.platform ?? null,
      tags,
      layers: result.layers,
      bytesDownloaded,
      bytesUploaded: result.bytesUploaded,
      durationMs: Date.now() - started,
    };
    printSuccess(flags, data, () => `Copied ${formatReference(src)} to ${formatReference({ repository: dst.repository, tag: tags[0] })} ${set.top.digest}: ${needed.length} of ${plural(set.blobs.length, 'blob')} transferred (${formatBytes(result.bytesUploaded)}), in ${formatDuration(data.durationMs)}`);
  } finally {
    reporter.stop();
    from.ecr.destroy();
    to.ecr.destroy();
  }
}
