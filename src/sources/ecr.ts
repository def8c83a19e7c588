/**
 * Reading an image from ECR: BatchGetImage for the manifest (its sha256 verified over the exact bytes), the
 * platform chosen from an index, children fetched by digest in batches of 100, and the blobs' descriptors.
 */
import { EcrxError } from '../core/errors.js';
import { formatReference, type ImageRef } from '../core/reference.js';
import type { Ecr } from '../ecr/client.js';
import { parseManifest, type Descriptor } from '../oci/manifest.js';
import { choosePlatform, formatPlatform, hostPlatform, parsePlatform } from '../oci/platform.js';
import { collectBlobs, type ImageEntry, type ImageSet, type ManifestBlob } from '../oci/image-set.js';
import { batchGet, fetchRoot, type FetchedManifest } from '../ecr/batch-get.js';

export interface ResolvedImage {
  set: ImageSet;
  registryId: string;
  repository: string;
  /** "linux/amd64", "all", or undefined for a single-platform image. */
  platform?: string;
}

export async function resolveFromEcr(
  ecr: Ecr,
  ref: ImageRef,
  platformOpt: string | undefined,
  signal?: AbortSignal,
): Promise<ResolvedImage> {
  const { root, parsed } = await fetchRoot(ecr, ref, signal);
  const rootBlob: ManifestBlob = { digest: root.digest, mediaType: parsed.mediaType, bytes: root.bytes };

  if (parsed.kind === 'manifest') {
    const images: ImageEntry[] = [{ ...rootBlob, manifest: parsed.manifest }];
    return {
      set: { top: rootBlob, images, manifests: [rootBlob], blobs: collectBlobs(images) },
      registryId: root.registryId,
      repository: ref.repository,
    };
  }

  const descriptors = parsed.index.manifests;
  let chosen: Descriptor[];
  let platformLabel: string;
  if (platformOpt === 'all') {
    chosen = descriptors;
    platformLabel = 'all';
  } else {
    const want = platformOpt ? parsePlatform(platformOpt) : hostPlatform();
    const i = choosePlatform(
      want,
      descriptors.map((d) => d.platform),
    );
    if (i < 0) {
      const available = descriptors
        .map((d) => (d.platform ? formatPlatform(d.platform) : 'unknown'))
        .filter((p) => p !== 'unknown/unknown');
      throw new EcrxError(
        'PLATFORM_NOT_FOUND',
        `${formatReference(ref)} has no image for ${formatPlatform(want)}; it has: ${available.join(', ') || 'no platform information'}`,
        {
          details: { wanted: formatPlatform(want), available },
          hint: `Pick one with --platform (e.g. --platform ${available[0] ?? 'linux/amd64'}), or --platform all for every one.`,
        },
      );
    }
    chosen = [descriptors[i]];
    platformLabel = formatPlatform(descriptors[i].platform!);
  }

  const children = await fetchChildren(ecr, ref.repository, chosen, signal);
  const images: ImageEntry[] = [];
  for (const d of chosen) {
    const child = children.get(d.digest)!;
    const cp = parseManifest(child.bytes, d.mediaType);
    if (cp.kind !== 'manifest')
      throw new EcrxError(
        'INVALID_IMAGE',
        `${d.digest} in the index of ${formatReference(ref)} is itself an index; nested indexes are not supported`,
      );
    images.push({
      digest: d.digest,
      mediaType: cp.mediaType,
      bytes: child.bytes,
      manifest: cp.manifest,
      platform: d.platform,
    });
  }
  const top = platformOpt === 'all' ? rootBlob : images[0];
  const manifests: ManifestBlob[] = platformOpt === 'all' ? [rootBlob, ...images] : [images[0]];
  return {
    set: {
      top: { digest: top.digest, mediaType: top.mediaType, bytes: top.bytes },
      images,
      manifests,
      blobs: collectBlobs(images),
    },
    registryId: root.registryId,
    repository: ref.repository,
    platform: platformLabel,
  };
}

async function fetchChildren(
  ecr: Ecr,
  repository: string,
  descriptors: Descriptor[],
  signal?: AbortSignal,
): Promise<Map<string, FetchedManifest>> {
  const all = new Map<string, FetchedManifest>();
  const digests = [...new Set(descriptors.map((d) => d.digest))];
  for (let i = 0; i < digests.length; i += 100) {
    const batch = digests.slice(i, i + 100);
    const got = await batchGet(
      ecr,
      repository,
      batch.map((imageDigest) => ({ imageDigest })),
      signal,
    );
    for (const [k, v] of got) all.set(k, v);
  }
  for (const d of descriptors) {
    const m = all.get(d.digest);
    if (!m)
      throw new EcrxError(
        'IMAGE_NOT_FOUND',
        `The index of ${repository} references ${d.digest}, which ECR did not return`,
      );
    if (m.bytes.length !== d.size) {
      throw new EcrxError(
        'SIZE_MISMATCH',
        `Manifest ${d.digest} is ${m.bytes.length} bytes but the index says ${d.size}`,
        { details: { expectedSize: d.size, actualSize: m.bytes.length } },
      );
    }
  }
  return all;
}
