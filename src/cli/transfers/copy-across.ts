/**
 * `ecrx copy` when one side (or both) is another registry: a registry image into ECR (a mirror), or an ECR image
 * into a registry. Each side is opened from its own reference; the digest is kept.
 */
import { EcrxError } from '../../core/errors.js';
import { formatReference, registryHost } from '../../core/reference.js';
import { formatRegistryReference } from '../../registry/reference.js';
import { EcrSink } from '../../sinks/ecr.js';
import type { ImageSink } from '../../sinks/sink.js';
import { copyAcross } from '../../engine/copy-across.js';
import { formatBytes, formatDuration, plural } from '../../report/format.js';
import { printSuccess } from '../output.js';
import { openCache, openSession } from '../session.js';
import { openSide, registrySink, sourceOf, type ImageArg } from '../image-arg.js';
import type { RegistryFlags } from '../image-arg.js';
import type { EcrFlags } from '../common.js';
import type { Ecr } from '../../ecr/client.js';

/** What this side of copy reads of copy's flags (copy.ts owns them; not imported, to keep the import one way). */
export interface AcrossFlags extends EcrFlags, RegistryFlags {
  concurrency?: number;
  cacheDir?: string;
  referrers?: boolean;
}

const shown = (arg: ImageArg) => (arg.kind === 'ecr' ? formatReference(arg.ref) : formatRegistryReference(arg.ref));

export async function copyWithRegistry(
  src: ImageArg,
  dst: ImageArg,
  flags: AcrossFlags,
  /** The flags the ECR destination connects with (--to-endpoint-url, --to-profile). */
  toFlags: EcrFlags,
  platform: string,
  signal: AbortSignal,
): Promise<void> {
  const started = Date.now();
  if (flags.referrers)
    throw new EcrxError('VALIDATION_ERROR', '--referrers copies the referrers ECR lists, from ECR into ECR only', {
      hint: 'Copy the image without --referrers.',
    });
  const tags = dst.ref.tag ? [dst.ref.tag] : src.ref.tag ? [src.ref.tag] : [];
  const from = await openSide(src, flags, 'copy');
  const reporter = from.reporter;
  let to: Ecr | undefined;
  try {
    const source = (await sourceOf(src, from.ecr, flags, reporter)).source;
    const cache = openCache(flags);
    let sink: ImageSink;
    let ecrSink: EcrSink | undefined;
    if (dst.kind === 'ecr') {
      to = (await openSession(toFlags, 'copy', dst.ref)).ecr;
      sink = ecrSink = new EcrSink(to, dst.ref.repository, { spool: cache, events: reporter });
    } else sink = registrySink(formatRegistryReference(dst.ref), flags, reporter);
    const r = await copyAcross({
      source,
      sink,
      cache,
      tags,
      platform,
      concurrency: flags.concurrency ?? 4, // the default of -j elsewhere; copy leaves it unset for ECR's own default
      events: reporter,
      signal,
    });
    reporter.stop();
    const registryId = r.sink.registryId ?? (dst.kind === 'ecr' ? dst.ref.registryId : undefined) ?? flags.registryId;
    const destination =
      dst.kind === 'registry'
        ? r.sink.target
        : `${registryId && to ? `${registryHost(registryId, await to.region(), dst.ref.fips, dst.ref.dualStack)}/` : ''}${formatReference({ repository: dst.ref.repository, tag: tags[0] })}`;
    const moved = r.blobs.filter((b) => b.moved);
    const data = {
      source: shown(src),
      destination,
      digest: r.set.top.digest,
      mediaType: r.set.top.mediaType,
      platform: r.platform ?? null,
      tags,
      layers: r.blobs.map((b) => ({
        digest: b.digest,
        size: b.size,
        uploaded: ecrSink ? ecrSink.didUpload(b.digest) : b.moved,
      })),
      bytesDownloaded: r.bytesDownloaded,
      bytesReused: r.bytesReused,
      bytesUploaded: r.bytesMoved,
      durationMs: Date.now() - started,
    };
    printSuccess(
      flags,
      data,
      () =>
        `Copied ${shown(src)} to ${destination} ${r.set.top.digest}: ${moved.length} of ${plural(r.blobs.length, 'blob')} transferred (${formatBytes(r.bytesMoved)}), in ${formatDuration(data.durationMs)}`,
    );
  } finally {
    reporter.stop();
    from.ecr?.destroy();
    to?.destroy();
  }
}
