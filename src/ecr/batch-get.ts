/**
 * BatchGetImage, the one call that returns manifest bytes: each manifest's sha256 verified over the exact bytes it
 * came as, and each failure turned into an error naming the repository and the tag or digest.
 */
import { EcrxError } from '../core/errors.js';
import { formatReference, type ImageRef } from '../core/reference.js';
import type { Ecr } from './client.js';
import { acceptedManifestTypes } from '../oci/media-types.js';
import { parseManifest, verifyManifestDigest } from '../oci/manifest.js';
import type { ManifestBlob } from '../oci/image-set.js';
import { inaccessibleImageError, renameArchived } from './archived.js';

export interface FetchedManifest extends ManifestBlob {
  registryId: string;
}

const failureMessages: Record<
  string,
  [string, 'IMAGE_NOT_FOUND' | 'VALIDATION_ERROR' | 'ACCESS_DENIED' | 'THROTTLED' | 'SERVICE_ERROR']
> = {
  ImageNotFound: ['not found', 'IMAGE_NOT_FOUND'],
  InvalidImageTag: ['has an invalid tag', 'VALIDATION_ERROR'],
  InvalidImageDigest: ['has an invalid digest', 'VALIDATION_ERROR'],
  ImageTagDoesNotMatchDigest: ['has a tag that does not point at the digest given', 'IMAGE_NOT_FOUND'],
  MissingDigestAndTag: ['names neither a tag nor a digest', 'VALIDATION_ERROR'],
  UpstreamAccessDenied: ['could not be fetched from the pull-through cache upstream (access denied)', 'ACCESS_DENIED'],
  UpstreamTooManyRequests: ['could not be fetched from the upstream registry (rate limited)', 'THROTTLED'],
  UpstreamUnavailable: ['could not be fetched from the upstream registry (unavailable)', 'SERVICE_ERROR'],
  KmsError: ['could not be decrypted (KMS error)', 'ACCESS_DENIED'],
};

/** BatchGetImage for up to 100 ids; failures become errors that name the repository and the id. */
export async function batchGet(
  ecr: Ecr,
  repository: string,
  ids: { imageTag?: string; imageDigest?: string }[],
  signal?: AbortSignal,
): Promise<Map<string, FetchedManifest>> {
  const out = await ecr.request(
    'BatchGetImage',
    ecr.withRegistry({ repositoryName: repository, imageIds: ids, acceptedMediaTypes: acceptedManifestTypes }),
    `Getting the manifest of ${repository}`,
    { signal },
  );
  const failure = out.failures?.[0];
  if (failure?.failureCode === 'ImageInaccessible')
    throw await inaccessibleImageError(ecr, repository, failure.imageId ?? ids[0], signal);
  if (failure) {
    const id = failure.imageId ?? {};
    const what = `${repository}${id.imageTag ? `:${id.imageTag}` : ''}${id.imageDigest ? `@${id.imageDigest}` : ''}`;
    const [text, code] = failureMessages[failure.failureCode ?? ''] ?? [
      `failed (${failure.failureCode})`,
      'SERVICE_ERROR',
    ];
    throw new EcrxError(code, `Image ${what} ${text}${failure.failureReason ? `: ${failure.failureReason}` : ''}`, {
      details: { failureCode: failure.failureCode, repository, tag: id.imageTag, digest: id.imageDigest },
      hint: code === 'IMAGE_NOT_FOUND' ? `\`ecrx tags ${repository}\` lists the tags that exist.` : undefined,
    });
  }
  const found = new Map<string, FetchedManifest>();
  for (const img of out.images ?? []) {
    const bytes = Buffer.from(img.imageManifest ?? '', 'utf8');
    const digest = img.imageId?.imageDigest ?? '';
    const key = img.imageId?.imageTag && !ids.some((i) => i.imageDigest) ? `tag:${img.imageId.imageTag}` : digest;
    verifyManifestDigest(bytes, digest, `${repository}@${digest}`);
    found.set(key, { digest, bytes, mediaType: img.imageManifestMediaType ?? '', registryId: img.registryId ?? '' });
  }
  return found;
}

/** The manifest (or index) a reference names, its bytes verified against the digest. */
export async function fetchRoot(ecr: Ecr, ref: ImageRef, signal?: AbortSignal) {
  const id = ref.digest
    ? { imageDigest: ref.digest, ...(ref.tag ? { imageTag: ref.tag } : {}) }
    : { imageTag: ref.tag! };
  const got = await batchGet(ecr, ref.repository, [id], signal).catch((err) => {
    throw renameArchived(err, ref);
  });
  const root = [...got.values()][0];
  if (!root) throw new EcrxError('IMAGE_NOT_FOUND', `Image ${formatReference(ref)} was not returned by ECR`);
  if (ref.digest && root.digest !== ref.digest) {
    throw new EcrxError('DIGEST_MISMATCH', `Asked for ${ref.digest} but ECR returned ${root.digest}`, {
      details: { expected: ref.digest, actual: root.digest },
    });
  }
  return { root, parsed: parseManifest(root.bytes, root.mediaType || undefined) };
}
