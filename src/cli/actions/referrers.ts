/** `ecrx referrers`: the signatures, SBOMs and attestations attached to an image, grouped by artifact type. */
import type { ArtifactStatusFilter } from '@aws-sdk/client-ecr';
import { EcrxError } from '../../core/errors.js';
import { formatReference, parseReference } from '../../core/reference.js';
import type { EcrFlags } from '../common.js';
import { printSuccess } from '../output.js';
import { openSession } from '../session.js';
import { resolveDigest } from '../../ecr/resolve-digest.js';
import { byArtifactType, referrerTree, type Referrer } from '../../engine/referrers.js';
import { formatBytes } from '../../report/format.js';

export interface ReferrersFlags extends EcrFlags {
  artifactType?: string[];
  status?: string;
  recursive?: boolean;
}

const STATUS: Record<string, ArtifactStatusFilter> = {
  active: 'ACTIVE',
  archived: 'ARCHIVED',
  activating: 'ACTIVATING',
  any: 'ANY',
};

export async function referrers(imageText: string, flags: ReferrersFlags, signal: AbortSignal): Promise<void> {
  const ref = parseReference(imageText);
  const artifactTypes = flags.artifactType ?? [];
  if (artifactTypes.length > 5)
    throw new EcrxError('VALIDATION_ERROR', `At most 5 --artifact-type filters, got ${artifactTypes.length}`, {
      hint: "ECR's ListImageReferrers takes up to 5 artifact types; run it twice for more.",
    });
  const { reporter, ecr } = await openSession(flags, 'referrers', ref);
  try {
    reporter.phase(`resolving ${formatReference(ref)}`);
    const { digest } = await resolveDigest(ecr, ref, signal);
    reporter.phase(`listing the referrers of ${digest}`);
    const list = await referrerTree(ecr, ref.repository, [digest], {
      artifactTypes,
      status: STATUS[flags.status ?? 'active'],
      recursive: Boolean(flags.recursive),
      signal,
    });
    reporter.stop();
    const data = {
      image: imageText,
      repository: ref.repository,
      digest,
      referrers: list,
      byArtifactType: byArtifactType(list),
    };
    printSuccess(flags, data, () => render(imageText, digest, list));
  } finally {
    reporter.stop();
    ecr.destroy();
  }
}

function render(image: string, digest: string, list: Referrer[]): string {
  if (!list.length) return `${image} (${digest}) has no referrers`;
  const lines = [`${image} (${digest}) has ${list.length} referrer${list.length === 1 ? '' : 's'}`];
  const groups = new Map<string, Referrer[]>();
  for (const r of list)
    groups.set(r.artifactType ?? 'unknown', [...(groups.get(r.artifactType ?? 'unknown') ?? []), r]);
  for (const [type, rs] of groups) {
    lines.push(`${type} (${rs.length})`);
    for (const r of rs)
      lines.push(
        `  ${r.digest}  ${formatBytes(r.size).padStart(9)}${r.subject !== digest ? `  refers to ${r.subject.slice(0, 19)}` : ''}${r.artifactStatus && r.artifactStatus !== 'ACTIVE' ? `  ${r.artifactStatus}` : ''}`,
      );
  }
  return lines.join('\n');
}
