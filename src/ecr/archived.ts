/**
 * ECR's archive storage class, as seen by a client: an archived (or restoring) image answers BatchGetImage with
 * failure `ImageInaccessible` and its layers answer GetDownloadUrlForLayer with `LayerInaccessibleException`.
 * Each becomes one IMAGE_ARCHIVED error (exit 9) that says what to run and how long a restore takes.
 */
import { EcrxError } from '../core/errors.js';
import type { Ecr } from './client.js';
import { formatReference, registryHost, type ImageRef } from '../core/reference.js';

/** ECR restores an archived image "within 20 minutes" (ECR user guide, Restoring an image). */
export const RESTORE_MINUTES = 20;

export type ImageStatus = 'ACTIVE' | 'ARCHIVED' | 'ACTIVATING';

/** The status of one image by tag or digest, whatever its storage class; undefined when it cannot be told. */
export async function imageStatus(
  ecr: Ecr,
  repository: string,
  id: { imageTag?: string; imageDigest?: string },
  signal?: AbortSignal,
): Promise<{ status: ImageStatus; digest: string } | undefined> {
  try {
    const out = await ecr.call(
      'DescribeImages',
      ecr.withRegistry({ repositoryName: repository, imageIds: [id], filter: { imageStatus: 'ANY' } }),
      { signal, attempts: 3 },
    );
    const d = out.imageDetails?.[0];
    return d?.imageDigest ? { status: d.imageStatus ?? 'ACTIVE', digest: d.imageDigest } : undefined;
  } catch {
    return undefined; // no ecr:DescribeImages, or an older endpoint: the error says what it can without it
  }
}

/** The one error for an image that cannot be pulled because of its storage class. */
export function archivedError(image: string, status: ImageStatus | undefined, cause?: unknown): EcrxError {
  const details = { image, imageStatus: status ?? null, restoreMinutes: RESTORE_MINUTES };
  if (status === 'ACTIVATING') {
    return new EcrxError(
      'IMAGE_ARCHIVED',
      `Image ${image} is being restored from the archive and cannot be pulled yet`,
      {
        hint: `Retry in a few minutes (a restore takes up to about ${RESTORE_MINUTES}), or wait for it with \`ecrx restore ${image} --wait\`.`,
        details,
        cause,
      },
    );
  }
  return new EcrxError('IMAGE_ARCHIVED', `Image ${image} is archived`, {
    hint: `Restore it with \`ecrx restore ${image}\` and retry in about ${RESTORE_MINUTES} minutes (\`ecrx restore ${image} --wait\` waits until it can be pulled).`,
    details,
    cause,
  });
}

/** BatchGetImage said `ImageInaccessible`: ask which storage state the image is in, and say so. */
export async function inaccessibleImageError(
  ecr: Ecr,
  repository: string,
  id: { imageTag?: string; imageDigest?: string },
  signal?: AbortSignal,
): Promise<EcrxError> {
  const image = `${repository}${id.imageTag ? `:${id.imageTag}` : ''}${id.imageDigest && !id.imageTag ? `@${id.imageDigest}` : ''}`;
  const found = await imageStatus(ecr, repository, id, signal);
  return archivedError(image, found?.status ?? 'ARCHIVED');
}

/**
 * GetDownloadUrlForLayer said `LayerInaccessibleException`, which ECR also answers for a layer no image uses: when
 * one of the images being moved turns out archived (it was archived mid-transfer), that is the error; else `err`.
 */
export async function inaccessibleLayerError(
  ecr: Ecr,
  repository: string,
  imageDigests: string[],
  err: unknown,
  signal?: AbortSignal,
): Promise<unknown> {
  if ((err as EcrxError)?.details?.awsError !== 'LayerInaccessibleException') return err;
  for (const digest of imageDigests) {
    const found = await imageStatus(ecr, repository, { imageDigest: digest }, signal);
    if (found && found.status !== 'ACTIVE') return archivedError(`${repository}@${digest}`, found.status, err);
  }
  return err;
}

/** The IMAGE_ARCHIVED error named as the user wrote the image (with its registry host when a URI was pasted). */
export function renameArchived(err: unknown, ref: ImageRef): unknown {
  if (!(err instanceof EcrxError) || err.code !== 'IMAGE_ARCHIVED') return err;
  const name = `${ref.registryId && ref.region ? `${registryHost(ref.registryId, ref.region, ref.fips, ref.dualStack)}/` : ''}${formatReference(ref)}`;
  return archivedError(name, (err.details?.imageStatus as ImageStatus | null) ?? undefined, err.cause);
}
