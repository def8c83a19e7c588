/**
 * ECR's archive storage class in the emulator. An image is ACTIVE, ARCHIVED, or ACTIVATING (being restored, which
 * takes `restoreDelaySeconds`, a few seconds by default where ECR takes up to 20 minutes). Only ACTIVE images can be
 * pulled: BatchGetImage answers the others with failure `ImageInaccessible`, GetDownloadUrlForLayer with
 * `LayerInaccessibleException` for a layer only they use, BatchCheckLayerAvailability calls such a layer `ARCHIVED`,
 * and ListImages / DescribeImages show them only when `filter.imageStatus` asks.
 *
 * Where ECR's documentation is silent the emulator picks, and says so here: archiving an index takes its child
 * manifests along, archiving a subject takes its referrers along (a signed image stays with its signatures), and
 * ImageStorageClassUpdateNotSupportedException answers a change asked of a child of an index (change the index)
 * or an archive of an image still being restored. Re-pushing an archived image restores it at once, as in ECR.
 */
import { ApiError } from '../api-error.js';
import { type Context, type Input, requireRepo, epochSeconds } from '../context.js';
import type { ImageRecord, RepoRecord } from '../store.js';

export type ImageStatus = 'ACTIVE' | 'ARCHIVED' | 'ACTIVATING';

export const DEFAULT_RESTORE_DELAY_SECONDS = 3;

/** The image's status now: a restore whose time has come is finished here, lazily. */
export function statusOf(img: ImageRecord, now = Date.now()): ImageStatus {
  if (img.status === 'ACTIVATING' && img.activeAt !== undefined && now >= img.activeAt) {
    img.status = 'ACTIVE';
    img.lastActivatedAt = img.activeAt;
    delete img.activeAt;
  }
  return img.status ?? 'ACTIVE';
}

export const isActive = (img: ImageRecord) => statusOf(img) === 'ACTIVE';

/** ListImages / DescribeImages `filter.imageStatus`: ACTIVE unless asked, ANY for all. */
export function statusFilter(input: Input): (img: ImageRecord) => boolean {
  const wanted: string = input.filter?.imageStatus ?? 'ACTIVE';
  return (img) => wanted === 'ANY' || statusOf(img) === wanted;
}

/** ImageDetail members of the storage class. */
export function statusDetail(img: ImageRecord) {
  return {
    imageStatus: statusOf(img),
    ...(img.lastArchivedAt ? { lastArchivedAt: epochSeconds(img.lastArchivedAt) } : {}),
    ...(img.lastActivatedAt ? { lastActivatedAt: epochSeconds(img.lastActivatedAt) } : {}),
  };
}

/** BatchGetImage's failure for an image that is not ACTIVE, or undefined when it can be pulled. */
export function inaccessible(img: ImageRecord): { failureCode: string; failureReason: string } | undefined {
  const status = statusOf(img);
  if (status === 'ACTIVE') return undefined;
  return {
    failureCode: 'ImageInaccessible',
    failureReason:
      status === 'ARCHIVED'
        ? 'The image is archived. Restore it to the standard storage class to pull it'
        : 'The image is being restored from the archive storage class and cannot be pulled until the restore completes',
  };
}

const referencing = (repo: RepoRecord, digest: string) =>
  Object.values(repo.images).filter((img) => img.blobs.includes(digest));

/** BatchCheckLayerAvailability: a layer that only archived (or restoring) images use is ARCHIVED. */
export function layerAvailability(repo: RepoRecord, digest: string): 'AVAILABLE' | 'ARCHIVED' {
  const users = referencing(repo, digest);
  return users.length > 0 && !users.some(isActive) ? 'ARCHIVED' : 'AVAILABLE';
}

/** GetDownloadUrlForLayer: refuses a layer that no ACTIVE image uses while archived ones do. */
export function checkLayerDownloadable(repo: RepoRecord, digest: string): void {
  const users = referencing(repo, digest);
  if (users.length > 0 && !users.some(isActive)) {
    throw new ApiError(
      'LayerInaccessibleException',
      `The specified layer '${digest}' is only referenced by archived images in the repository with name '${repo.name}' in the registry with id '${repo.registryId}'. Restore the image to download it`,
    );
  }
}

/** A re-push of an archived image restores it at once (ECR's documented shortcut). */
export function restoreOnPush(img: ImageRecord): boolean {
  if (statusOf(img) === 'ACTIVE') return false;
  img.status = 'ACTIVE';
  img.lastActivatedAt = Date.now();
  delete img.activeAt;
  return true;
}

/** The image and what travels with it: an index's children and, recursively, the referrers of each. */
function withDependents(repo: RepoRecord, root: ImageRecord): ImageRecord[] {
  const out = new Map<string, ImageRecord>();
  const visit = (img: ImageRecord) => {
    if (out.has(img.digest)) return;
    out.set(img.digest, img);
    for (const c of img.children) if (repo.images[c]) visit(repo.images[c]);
    for (const r of Object.values(repo.images)) if (r.subject === img.digest) visit(r);
  };
  visit(root);
  return [...out.values()];
}

export function updateImageStorageClass(ctx: Context, input: Input) {
  const repo = requireRepo(ctx, input);
  const id = input.imageId as { imageDigest?: string; imageTag?: string };
  const img =
    id.imageTag !== undefined
      ? Object.values(repo.images).find((i) => i.tags.includes(id.imageTag!))
      : id.imageDigest
        ? repo.images[id.imageDigest]
        : undefined;
  if (!img || (id.imageTag !== undefined && id.imageDigest !== undefined && img.digest !== id.imageDigest)) {
    const what = id.imageTag !== undefined ? `imageTag=${id.imageTag}` : `imageDigest=${id.imageDigest ?? ''}`;
    throw new ApiError(
      'ImageNotFoundException',
      `The image with imageId {${what}} does not exist within the repository with name '${repo.name}' in the registry with id '${repo.registryId}'`,
    );
  }
  const parent = Object.values(repo.images).find((p) => p.children.includes(img.digest));
  if (parent) {
    throw new ApiError(
      'ImageStorageClassUpdateNotSupportedException',
      `The image '${img.digest}' is part of the image index '${parent.digest}'; change the storage class of the index instead`,
    );
  }
  const now = Date.now();
  const status = statusOf(img, now);
  const target: string = input.targetStorageClass;
  if (target === 'ARCHIVE' && status === 'ACTIVATING') {
    throw new ApiError(
      'ImageStorageClassUpdateNotSupportedException',
      `The image '${img.digest}' is being restored and cannot be archived until the restore completes`,
    );
  }
  const delayMs = (ctx.options.restoreDelaySeconds ?? DEFAULT_RESTORE_DELAY_SECONDS) * 1000;
  for (const each of withDependents(repo, img)) {
    const s = statusOf(each, now);
    if (target === 'ARCHIVE' && s === 'ACTIVE') {
      each.status = 'ARCHIVED';
      each.lastArchivedAt = now;
    } else if (target === 'STANDARD' && s === 'ARCHIVED') {
      each.status = 'ACTIVATING';
      each.activeAt = now + delayMs;
    }
  }
  ctx.store.saveRepo(repo);
  return {
    registryId: repo.registryId,
    repositoryName: repo.name,
    imageId: { imageDigest: img.digest, ...(id.imageTag !== undefined ? { imageTag: id.imageTag } : {}) },
    imageStatus: statusOf(img),
  };
}
