/** `ecrx rm`: BatchDeleteImage by tag or digest, grouped per repository; what was deleted and what failed. */
import { EcrxError } from '../../core/errors.js';
import { formatReference, parseReference } from '../../core/reference.js';
import type { EcrFlags } from '../common.js';
import { printSuccess } from '../output.js';
import { openSession } from '../session.js';

export async function rm(images: string[], flags: EcrFlags, signal: AbortSignal): Promise<void> {
  const refs = images.map((i) => parseReference(i, { defaultTag: false }));
  for (const [i, r] of refs.entries()) {
    if (!r.tag && !r.digest)
      throw new EcrxError('VALIDATION_ERROR', `'${images[i]}' names no tag or digest`, {
        hint: 'ecrx rm deletes images, never a whole repository: give repo:tag or repo@sha256:…',
      });
  }
  const byRepo = new Map<string, typeof refs>();
  for (const r of refs) byRepo.set(r.repository, [...(byRepo.get(r.repository) ?? []), r]);
  const { reporter, ecr } = await openSession(flags, 'rm', refs[0]);
  const deleted: { repository: string; digest: string; tag: string | null }[] = [];
  const failed: { image: string; code: string; reason: string }[] = [];
  try {
    for (const [repository, list] of byRepo) {
      const imageIds = list.map((r) => (r.digest ? { imageDigest: r.digest } : { imageTag: r.tag! }));
      const out = await ecr.request(
        'BatchDeleteImage',
        ecr.withRegistry({ repositoryName: repository, imageIds }),
        `Deleting images from ${repository}`,
        { signal },
      );
      for (const id of out.imageIds ?? [])
        deleted.push({ repository, digest: id.imageDigest ?? '', tag: id.imageTag ?? null });
      for (const f of out.failures ?? [])
        failed.push({
          image: formatReference({ repository, tag: f.imageId?.imageTag, digest: f.imageId?.imageDigest }),
          code: f.failureCode ?? 'Unknown',
          reason: f.failureReason ?? '',
        });
    }
  } finally {
    reporter.stop();
    ecr.destroy();
  }
  if (failed.length) {
    const notFound = failed.every((f) => f.code === 'ImageNotFound');
    throw new EcrxError(
      notFound ? 'IMAGE_NOT_FOUND' : 'SERVICE_ERROR',
      `Deleted ${deleted.length}, failed ${failed.length}: ${failed.map((f) => `${f.image} (${f.code}: ${f.reason})`).join('; ')}`,
      {
        details: { deleted, failed },
        hint: notFound
          ? `\`ecrx tags ${refs[0].repository} --all\` lists the images that exist.`
          : 'Run the same command again for the ones that failed; those deleted stay deleted.',
      },
    );
  }
  printSuccess(flags, { deleted, failed }, () =>
    deleted.map((d) => `deleted ${d.repository}${d.tag ? `:${d.tag}` : ''} ${d.digest}`).join('\n'),
  );
}
