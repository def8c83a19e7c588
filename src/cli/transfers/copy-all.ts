/**
 * `ecrx copy --all-tags SRC-REPO DST-REPO`: every tagged image of a repository, each digest once with all its tags,
 * through the same copy as a single image (only missing blobs move, digests kept, `--referrers` honoured).
 * Archived images cannot be read until restored: they are listed as skipped, not failed.
 */
import { EcrxError } from '../../core/errors.js';
import { formatReference, parseReference, registryHost } from '../../core/reference.js';
import { printSuccess } from '../output.js';
import { parsePlatform } from '../../oci/platform.js';
import { formatBytes, formatDuration } from '../../report/format.js';
import { taggedImages } from '../../ecr/list-images.js';
import { copyImage } from '../../engine/copy.js';
import { destinationFlags, type CopyFlags } from './copy.js';
import { openCache, openSession } from '../session.js';

export async function copyAllTags(
  srcText: string,
  dstText: string,
  flags: CopyFlags,
  signal: AbortSignal,
): Promise<void> {
  const started = Date.now();
  const src = parseReference(srcText, { defaultTag: false });
  const dst = parseReference(dstText, { defaultTag: false });
  for (const [ref, text] of [
    [src, srcText],
    [dst, dstText],
  ] as const) {
    if (ref.tag || ref.digest) {
      throw new EcrxError('VALIDATION_ERROR', `--all-tags copies whole repositories: '${text}' names one image`, {
        hint: `Give repository names, e.g. ecrx copy --all-tags ${src.repository} ${dst.repository}`,
      });
    }
  }
  const platform = flags.platform ?? 'all';
  if (platform !== 'all') parsePlatform(platform);
  const from = await openSession(flags, 'copy', src);
  const to = await openSession(destinationFlags(flags), 'copy', dst);
  const reporter = from.reporter;
  try {
    reporter.phase(`listing ${src.repository}`);
    const images = await taggedImages(from.ecr, src.repository, undefined, signal);
    const archived = await taggedImages(from.ecr, src.repository, 'ARCHIVED', signal).catch(
      () => new Map<string, string[]>(),
    );
    const cache = openCache(flags);
    const copied: { digest: string; tags: string[]; referrers?: number }[] = [];
    let bytesUploaded = 0;
    let blobsMoved = 0;
    for (const [digest, tags] of images) {
      const one = await copyImage(
        { from: from.ecr, to: to.ecr, cache, events: reporter },
        { ...src, digest, tag: undefined },
        dst.repository,
        tags,
        flags,
        platform,
        signal,
      );
      bytesUploaded += one.result.bytesUploaded;
      blobsMoved += one.needed.length;
      copied.push({ digest, tags, ...(one.referrers ? { referrers: one.referrers.length } : {}) });
    }
    reporter.stop();
    const srcRegion = await from.ecr.region();
    const data = {
      source: `${src.registryId ? `${registryHost(src.registryId, srcRegion, src.fips, src.dualStack)}/` : ''}${src.repository}`,
      destination: `${dst.registryId ? `${registryHost(dst.registryId, await to.ecr.region(), dst.fips, dst.dualStack)}/` : ''}${dst.repository}`,
      images: copied,
      skippedArchived: [...archived].map(([digest, tags]) => ({ digest, tags })),
      bytesUploaded,
      durationMs: Date.now() - started,
    };
    printSuccess(flags, data, () =>
      [
        `Copied ${copied.length} images (${copied.reduce((n, c) => n + c.tags.length, 0)} tags) from ${src.repository} to ${dst.repository}: ${blobsMoved} blobs transferred (${formatBytes(bytesUploaded)}), in ${formatDuration(data.durationMs)}`,
        ...copied.map(
          (c) =>
            `  ${c.digest}  ${c.tags.join(', ')}${c.referrers !== undefined ? `  (+${c.referrers} referrers)` : ''}`,
        ),
        ...(archived.size
          ? [
              `Skipped ${archived.size} archived images (${[...archived.values()]
                .flat()
                .map((t) => formatReference({ repository: src.repository, tag: t }))
                .join(', ')}): restore them with \`ecrx restore\` to copy them`,
            ]
          : []),
      ].join('\n'),
    );
  } finally {
    reporter.stop();
    from.ecr.destroy();
    to.ecr.destroy();
  }
}
