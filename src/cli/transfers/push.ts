/** `ecrx push`, the CLI side: tags and platform checked, the engine run with a reporter, the result printed. */
import { EcrxError } from '../../core/errors.js';
import { formatReference, isValidTag, parseReference, registryHost } from '../../core/reference.js';
import type { EcrFlags } from '../common.js';
import { printSuccess } from '../output.js';
import { formatBytes, formatDuration, plural } from '../../report/format.js';
import { parsePlatform } from '../../oci/platform.js';
import { pushImage } from '../../engine/push.js';
import { openCache, openSession } from '../session.js';

export interface PushFlags extends EcrFlags {
  tag?: string[];
  platform?: string;
  /** Unset: the ECR sink's default (ECR_UPLOADS_AT_ONCE). */
  concurrency?: number;
  cacheDir?: string;
  /** Also push the referrers (signatures, SBOMs, attestations) the source layout holds. */
  referrers?: boolean;
}

export async function push(source: string, imageText: string, flags: PushFlags, signal: AbortSignal): Promise<void> {
  const started = Date.now();
  const ref = parseReference(imageText, { defaultTag: false });
  const extra = flags.tag ?? [];
  for (const t of extra) {
    if (!isValidTag(t))
      throw new EcrxError('VALIDATION_ERROR', `Invalid tag '${t}'`, {
        hint: 'Tags are letters, digits, _ . - (not starting with . or -), up to 300 characters.',
      });
  }
  if (flags.platform) {
    if (flags.platform === 'all')
      throw new EcrxError('VALIDATION_ERROR', '--platform all is the default for push; give one platform or none');
    parsePlatform(flags.platform);
  }
  const tags = [...new Set([...(ref.tag ? [ref.tag] : ref.digest ? [] : ['latest']), ...extra])];

  const cache = openCache(flags);
  const { reporter, ecr } = await openSession(flags, 'push', ref);
  try {
    const { opened, set, result, referrers } = await pushImage({
      ecr,
      source,
      ref,
      tags,
      platform: flags.platform,
      concurrency: flags.concurrency,
      cache,
      referrers: flags.referrers,
      events: reporter,
      signal,
    });
    reporter.stop();
    const region = await ecr.region();
    const registryId = result.registryId ?? ref.registryId ?? flags.registryId ?? null;
    const host = registryId ? registryHost(registryId, region, ref.fips, ref.dualStack) : undefined;
    const uploadedCount = result.layers.filter((l) => l.uploaded).length;
    const data = {
      image: `${host ? `${host}/` : ''}${formatReference({ repository: ref.repository, tag: tags[0] })}`,
      registryId,
      repository: ref.repository,
      tags,
      digest: set.top.digest,
      mediaType: set.top.mediaType,
      layers: result.layers,
      bytesUploaded: result.bytesUploaded,
      bytesReused: result.bytesReused,
      ...(referrers ? { referrers } : {}),
      durationMs: Date.now() - started,
    };
    printSuccess(
      flags,
      data,
      () =>
        `Pushed ${opened.kind} ${source} to ${ref.repository}${tags.length ? ` as ${tags.join(', ')}` : ''} ${set.top.digest}: ${plural(result.layers.length, 'blob')}, ${uploadedCount} uploaded (${formatBytes(result.bytesUploaded)}), ${result.layers.length - uploadedCount} already there${referrers ? `, ${plural(referrers.length, 'referrer')}` : ''}, in ${formatDuration(data.durationMs)}`,
    );
  } finally {
    reporter.stop();
    ecr.destroy();
  }
}
