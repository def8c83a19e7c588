/** `ecrx push`: open the source (checked whole before any upload), then write it into ECR. */
import { EcrxError } from '../core/errors.js';
import { formatReference, isValidTag, parseReference, registryHost } from '../core/reference.js';
import type { EcrFlags } from '../cli/common.js';
import { printSuccess } from '../cli/output.js';
import { formatBytes, formatDuration, plural } from '../report/format.js';
import { openSource } from '../sources/open.js';
import { pushToEcr } from '../sinks/ecr.js';
import { openCache, openSession } from './session.js';
import { pushReferrers } from './push-referrers.js';
import { parsePlatform } from '../oci/platform.js';

export interface PushFlags extends EcrFlags {
  tag?: string[];
  platform?: string;
  concurrency: number;
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
    reporter.phase(`reading ${source === '-' ? 'stdin' : source}`);
    const opened = await openSource(source, cache, { platform: flags.platform, signal });
    const { set } = opened;
    if (ref.digest && ref.digest !== set.top.digest) {
      throw new EcrxError(
        'DIGEST_MISMATCH',
        `${formatReference(ref)} names digest ${ref.digest}, but the source's image is ${set.top.digest}`,
        {
          details: { expected: ref.digest, actual: set.top.digest },
        },
      );
    }
    const result = await pushToEcr({
      ecr,
      repository: ref.repository,
      set,
      blobPath: (d) => opened.pathOf(d),
      verifyBeforeUpload: opened.verify,
      tags,
      concurrency: flags.concurrency,
      reporter,
      signal,
    });
    const referrers = flags.referrers
      ? await pushReferrers({
          ecr,
          repository: ref.repository,
          opened,
          source,
          concurrency: flags.concurrency,
          reporter,
          signal,
        })
      : undefined;
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
