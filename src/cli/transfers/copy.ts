/**
 * `ecrx copy`, the CLI side: ECR to ECR, across repositories, regions and accounts (each side from its own reference), through
 * the local cache, fetching only the blobs the destination lacks. The manifest bytes, and so the digest, are kept.
 */
import { EcrxError } from '../../core/errors.js';
import { formatReference, registryHost } from '../../core/reference.js';
import type { EcrFlags } from '../common.js';
import { printSuccess } from '../output.js';
import { formatBytes, formatDuration, plural } from '../../report/format.js';
import { copyImage } from '../../engine/copy.js';
import { openCache, openSession } from '../session.js';
import { parsePlatform } from '../../oci/platform.js';
import { parseImageArg, type RegistryFlags } from '../image-arg.js';

export interface CopyFlags extends EcrFlags, RegistryFlags {
  platform?: string;
  /** Unset: the ECR sink's default (ECR_UPLOADS_AT_ONCE). */
  concurrency?: number;
  cacheDir?: string;
  tag?: string[];
  /** Also copy the image's referrers (signatures, SBOMs, attestations), recursively. */
  referrers?: boolean;
  /** Copy every tagged image of the source repository (copy-all.ts). */
  allTags?: boolean;
  /** The destination's own endpoint and profile, when it is not reached like the source. */
  toEndpointUrl?: string;
  toProfile?: string;
}

/** The flags the destination side connects with. */
export const destinationFlags = (flags: CopyFlags): CopyFlags => ({
  ...flags,
  quiet: true,
  endpointUrl: flags.toEndpointUrl ?? flags.endpointUrl,
  profile: flags.toProfile ?? flags.profile,
});

export async function copy(srcText: string, dstText: string, flags: CopyFlags, signal: AbortSignal): Promise<void> {
  const started = Date.now();
  const srcArg = parseImageArg(srcText);
  const dstArg = parseImageArg(dstText, { defaultTag: false });
  const platform = flags.platform ?? 'all';
  if (platform !== 'all') parsePlatform(platform);
  if (dstArg.ref.digest)
    throw new EcrxError('VALIDATION_ERROR', "The destination takes a tag, not a digest: the digest is the source's", {
      hint: `For example: ecrx copy ${srcText} ${dstArg.ref.repository}:${srcArg.ref.tag ?? 'copy'}`,
    });
  // Another registry on either side: any source into any sink (copy-across.ts).
  if (srcArg.kind === 'registry' || dstArg.kind === 'registry') {
    const { copyWithRegistry } = await import('./copy-across.js');
    return copyWithRegistry(srcArg, dstArg, flags, destinationFlags(flags), platform, signal);
  }
  const src = srcArg.ref;
  const dst = dstArg.ref;
  const tags = dst.tag ? [dst.tag] : src.tag ? [src.tag] : [];
  const from = await openSession(flags, 'copy', src);
  const to = await openSession(destinationFlags(flags), 'copy', dst);
  const reporter = from.reporter;
  try {
    const cache = openCache(flags);
    const {
      registryId: srcRegistryId,
      set,
      platformLabel,
      needed,
      result,
      bytesDownloaded,
      bytesReused,
      referrers,
    } = await copyImage(
      { from: from.ecr, to: to.ecr, cache, events: reporter },
      src,
      dst.repository,
      tags,
      flags,
      platform,
      signal,
    );
    reporter.stop();
    const region = await to.ecr.region();
    const registryId = result.registryId ?? dst.registryId ?? flags.registryId ?? null;
    const data = {
      source: `${registryHost(srcRegistryId, await from.ecr.region(), src.fips, src.dualStack)}/${formatReference(src)}`,
      destination: `${registryId ? `${registryHost(registryId, region, dst.fips, dst.dualStack)}/` : ''}${formatReference({ repository: dst.repository, tag: tags[0] })}`,
      digest: set.top.digest,
      mediaType: set.top.mediaType,
      platform: platformLabel ?? null,
      tags,
      layers: result.layers,
      bytesDownloaded,
      bytesReused,
      bytesUploaded: result.bytesUploaded,
      ...(referrers ? { referrers } : {}),
      durationMs: Date.now() - started,
    };
    printSuccess(
      flags,
      data,
      () =>
        `Copied ${formatReference(src)} to ${formatReference({ repository: dst.repository, tag: tags[0] })} ${set.top.digest}: ${needed.length} of ${plural(set.blobs.length, 'blob')} transferred (${formatBytes(result.bytesUploaded)})${referrers ? `, ${plural(referrers.length, 'referrer')}` : ''}, in ${formatDuration(data.durationMs)}`,
    );
  } finally {
    reporter.stop();
    from.ecr.destroy();
    to.ecr.destroy();
  }
}
