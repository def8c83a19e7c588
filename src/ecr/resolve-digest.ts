/**
 * The digest a reference names, without fetching the manifest: DescribeImages by tag (or digest, to check it
 * exists), whatever the image's storage class. Credentials that may pull but not describe fall back to
 * BatchGetImage, which verifies the manifest bytes against the digest it returns.
 */
import { formatReference, type ImageRef } from '../core/reference.js';
import { EcrxError } from '../core/errors.js';
import type { Ecr } from './client.js';
import { fetchRoot } from './batch-get.js';

export interface ResolvedDigest {
  digest: string;
  mediaType: string | null;
  /** ACTIVE, ARCHIVED or ACTIVATING; null when only BatchGetImage could be asked. */
  status: string | null;
  registryId: string | null;
}

export async function resolveDigest(ecr: Ecr, ref: ImageRef, signal?: AbortSignal): Promise<ResolvedDigest> {
  const imageId = ref.tag
    ? { imageTag: ref.tag, ...(ref.digest ? { imageDigest: ref.digest } : {}) }
    : { imageDigest: ref.digest! };
  try {
    const out = await ecr.request(
      'DescribeImages',
      ecr.withRegistry({ repositoryName: ref.repository, imageIds: [imageId], filter: { imageStatus: 'ANY' } }),
      `Looking up ${formatReference(ref)}`,
      { signal },
    );
    const d = out.imageDetails?.[0];
    if (!d?.imageDigest)
      throw new EcrxError('IMAGE_NOT_FOUND', `Image ${formatReference(ref)} not found`, {
        hint: `\`ecrx tags ${ref.repository}\` lists the tags that exist.`,
      });
    if (ref.digest && d.imageDigest !== ref.digest) {
      throw new EcrxError(
        'IMAGE_NOT_FOUND',
        `Tag ${ref.tag} of ${ref.repository} points at ${d.imageDigest}, not ${ref.digest}`,
        { details: { expected: ref.digest, actual: d.imageDigest } },
      );
    }
    return {
      digest: d.imageDigest ?? '',
      mediaType: d.imageManifestMediaType ?? null,
      status: d.imageStatus ?? 'ACTIVE',
      registryId: d.registryId ?? null,
    };
  } catch (err) {
    if ((err as EcrxError).code !== 'ACCESS_DENIED') throw err;
    const { root, parsed } = await fetchRoot(ecr, ref, signal);
    return { digest: root.digest, mediaType: parsed.mediaType, status: null, registryId: root.registryId };
  }
}
