/** `ecrx tags` and `ecrx repos`: every page, newest first. */
import { EcrxError } from '../core/errors.js';
import { isValidRepository } from '../core/reference.js';
import type { EcrFlags } from '../cli/common.js';
import { printSuccess } from '../cli/output.js';
import { openSession } from '../transfer/session.js';
import { formatBytes } from '../ui/format.js';

const toIso = (d: unknown) => (d instanceof Date ? d.toISOString() : d ? new Date(d as string).toISOString() : null);

/** `--status`: which storage states to list (ECR lists only ACTIVE images unless asked). */
const STATUS_FILTER: Record<string, string> = { active: 'ACTIVE', archived: 'ARCHIVED', activating: 'ACTIVATING', all: 'ANY' };

export async function tags(repository: string, flags: EcrFlags & { status?: string }, signal: AbortSignal): Promise<void> {
  const imageStatus = STATUS_FILTER[flags.status ?? 'active'];
  if (!isValidRepository(repository)) throw new EcrxError('VALIDATION_ERROR', `Invalid repository name '${repository}'`, { hint: 'For example team/app (no tag: ecrx tags lists them).' });
  const { reporter, ecr } = await openSession(flags, 'tags');
  try {
    reporter.phase(`listing ${repository}`);
    const ids: { imageDigest: string; imageTag: string }[] = [];
    let nextToken: string | undefined;
    do {
      const page = await ecr.request<any>('ListImages', ecr.withRegistry({ repositoryName: repository, filter: { tagStatus: 'TAGGED', imageStatus }, maxResults: 1000, nextToken }), `Listing the images of ${repository}`, { signal });
      ids.push(...(page.imageIds ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    const details = new Map<string, any>();
    const digests = [...new Set(ids.map((i) => i.imageDigest))];
    for (let i = 0; i < digests.length; i += 100) {
      const out = await ecr.request<any>('DescribeImages', ecr.withRegistry({ repositoryName: repository, imageIds: digests.slice(i, i + 100).map((imageDigest) => ({ imageDigest })), filter: { imageStatus } }), `Describing the images of ${repository}`, { signal });
      for (const d of out.imageDetails ?? []) details.set(d.imageDigest, d);
    }
    reporter.stop();
    const rows = ids
      .map((id) => {
        const d = details.get(id.imageDigest);
        return { tag: id.imageTag, digest: id.imageDigest, size: d?.imageSizeInBytes ?? null, pushedAt: toIso(d?.imagePushedAt), mediaType: d?.imageManifestMediaType ?? null, status: d?.imageStatus ?? null };
      })
      .sort((a, b) => (b.pushedAt ?? '').localeCompare(a.pushedAt ?? '') || a.tag.localeCompare(b.tag));
    printSuccess(flags, { repository, tags: rows }, () =>
      rows.length
        ? rows.map((r) => `${r.tag.padEnd(24)} ${r.digest.slice(0, 19)}  ${formatBytes(r.size ?? 0).padStart(10)}  ${r.pushedAt ?? ''}${imageStatus !== 'ACTIVE' ? `  ${r.status ?? ''}` : ''}`).join('\n')
        : `${repository} has no tagged ${imageStatus === 'ANY' ? '' : `${imageStatus.toLowerCase()} `}images`,
    );
  } finally {
    reporter.stop();
    ecr.destroy();
  }
}

export async function repos(flags: EcrFlags, signal: AbortSignal): Promise<void> {
  const { reporter, ecr } = await openSession(flags, 'repos');
  try {
    const all: any[] = [];
    let nextToken: string | undefined;
    do {
      const page = await ecr.request<any>('DescribeRepositories', ecr.withRegistry({ maxResults: 1000, nextToken }), 'Listing repositories', { signal });
      all.push(...(page.repositories ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    reporter.stop();
    const rows = all.map((r) => ({ name: r.repositoryName, uri: r.repositoryUri, registryId: r.registryId, createdAt: toIso(r.createdAt), tagMutability: r.imageTagMutability }));
    printSuccess(flags, { repositories: rows }, () => (rows.length ? rows.map((r) => `${r.name.padEnd(40)} ${r.uri}`).join('\n') : 'no repositories'));
  } finally {
    reporter.stop();
    ecr.destroy();
  }
}
