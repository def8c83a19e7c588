import { sha256Digest } from '../../core/digest.js';
import { ApiError, invalidParameter, invalidParameterAt } from '../api-error.js';
import { type Context, type Input, requireRepo, epochSeconds } from '../context.js';
import type { ImageRecord, RepoRecord } from '../store.js';
import {
  isValidDigest,
  isValidTag,
  requireValidDigest,
  requireValidTag,
  DIGEST_PATTERN,
  TAG_PATTERN,
} from '../ecr-rules.js';
import { tagIsImmutable } from './repositories.js';
import { pageOf } from './paging.js';
import { readPutImageManifest } from './manifest.js';
import { acceptsAsIs, convertForPull, type Served } from './convert.js';
import { inaccessible, restoreOnPush, statusDetail, statusFilter } from './storage-class.js';
import { referrerFields } from './referrers.js';

interface ImageId {
  imageDigest?: string;
  imageTag?: string;
}

type Lookup = { image: ImageRecord } | { failureCode: string; failureReason: string };

function findImage(repo: RepoRecord, id: ImageId): Lookup {
  if (!id.imageDigest && !id.imageTag)
    return { failureCode: 'MissingDigestAndTag', failureReason: 'Missing image digest and tag' };
  if (id.imageDigest !== undefined && !isValidDigest(id.imageDigest)) {
    return {
      failureCode: 'InvalidImageDigest',
      failureReason: `Invalid request parameters: image digest should satisfy the regex '${DIGEST_PATTERN}'`,
    };
  }
  if (id.imageTag !== undefined && !isValidTag(id.imageTag)) {
    return {
      failureCode: 'InvalidImageTag',
      failureReason: `Invalid request parameters: image tag should satisfy the regex '${TAG_PATTERN}'`,
    };
  }
  let image: ImageRecord | undefined;
  if (id.imageTag !== undefined) {
    image = Object.values(repo.images).find((img) => img.tags.includes(id.imageTag!));
    if (image && id.imageDigest !== undefined && image.digest !== id.imageDigest) {
      return {
        failureCode: 'ImageTagDoesNotMatchDigest',
        failureReason: 'Requested image digest does not match the digest of the image with the specified tag',
      };
    }
  } else {
    image = repo.images[id.imageDigest!];
  }
  if (!image) return { failureCode: 'ImageNotFound', failureReason: 'Requested image not found' };
  return { image };
}

/** The image `id` names, or undefined after recording why not in `failures` (as the batch operations answer). */
function imageOrFailure(repo: RepoRecord, id: ImageId, failures: unknown[]): ImageRecord | undefined {
  const found = findImage(repo, id);
  if ('image' in found) return found.image;
  failures.push({ imageId: id, failureCode: found.failureCode, failureReason: found.failureReason });
  return undefined;
}

/**
 * The form of `img` a BatchGetImage id gets under `accepted` (see convert.ts), or why none: a client that accepts
 * only some types never silently gets another.
 */
function negotiate(
  ctx: Context,
  repo: RepoRecord,
  img: ImageRecord,
  id: ImageId,
  accepted: string[] | undefined,
): Served | string {
  if (!accepted || acceptsAsIs(accepted, img.mediaType))
    return { manifest: img.manifest, mediaType: img.mediaType, digest: img.digest };
  const none = `Requested image's manifest type ${img.mediaType} is not among the accepted media types [${accepted.join(', ')}]`;
  if (id.imageDigest !== undefined) return `${none}, and a pull by digest is never converted`;
  const config = img.blobs[0];
  const configPath =
    img.children.length === 0 && config && ctx.store.hasBlob(config) ? ctx.store.blobPath(config) : undefined;
  return (
    convertForPull(
      { manifest: img.manifest, mediaType: img.mediaType, configPath },
      accepted,
      repo.name,
      id.imageTag!,
    ) ?? `${none}, and no conversion to them is available`
  );
}

export function batchGetImage(ctx: Context, input: Input) {
  const repo = requireRepo(ctx, input);
  const accepted: string[] | undefined = input.acceptedMediaTypes;
  const images: unknown[] = [];
  const failures: unknown[] = [];
  const seen = new Set<string>();
  for (const id of input.imageIds as ImageId[]) {
    const k = `${id.imageDigest ?? ''}|${id.imageTag ?? ''}`;
    if (seen.has(k)) continue; // ECR answers each distinct id once
    seen.add(k);
    const img = imageOrFailure(repo, id, failures);
    if (!img) continue;
    const archived = inaccessible(img);
    if (archived) {
      failures.push({ imageId: id, ...archived });
      continue;
    }
    const form = negotiate(ctx, repo, img, id, accepted);
    if (typeof form === 'string') {
      // The model has no failure code of its own for this; a registry answers it as "manifest unknown".
      failures.push({ imageId: id, failureCode: 'ImageNotFound', failureReason: form });
      continue;
    }
    img.lastRecordedPullTime = Date.now();
    images.push({
      registryId: repo.registryId,
      repositoryName: repo.name,
      imageId: { imageDigest: form.digest, ...(id.imageTag !== undefined ? { imageTag: id.imageTag } : {}) },
      imageManifest: form.manifest,
      imageManifestMediaType: form.mediaType,
    });
  }
  return { images, failures };
}

export function putImage(ctx: Context, input: Input) {
  const repo = requireRepo(ctx, input);
  const text: string = input.imageManifest;
  const digest = sha256Digest(text);
  if (input.imageDigest !== undefined && input.imageDigest !== digest) {
    throw new ApiError(
      'ImageDigestDoesNotMatchException',
      `Invalid parameter at 'imageDigest' failed to satisfy constraint: 'Provided digest '${input.imageDigest}' does not match the digest of the image manifest '${digest}''`,
    );
  }
  const tag: string | undefined = input.imageTag;
  requireValidTag(tag);
  const parsed = readPutImageManifest(text, input.imageManifestMediaType);
  const blobs = parsed.config
    ? [parsed.config, ...parsed.layers.map((l) => l.digest)]
    : parsed.layers.map((l) => l.digest);
  requireReferenced(ctx, repo, blobs, parsed.children);

  const { existing, tagOwner } = refuseConflicts(repo, digest, tag);
  if (tagOwner) tagOwner.tags = tagOwner.tags.filter((t) => t !== tag);
  // ECR documents an index's size as the largest of its manifests', an image's as its layers' (config excluded).
  const size = parsed.children.length
    ? Math.max(...parsed.children.map((c) => repo.images[c].sizeInBytes))
    : parsed.layers.reduce((n, l) => n + (repo.layers[l.digest]?.size ?? l.size), 0);
  const image: ImageRecord = existing ?? {
    digest,
    manifest: text,
    mediaType: parsed.mediaType,
    artifactMediaType: parsed.artifactMediaType,
    sizeInBytes: size,
    pushedAt: Date.now(),
    tags: [],
    blobs,
    children: parsed.children,
    ...referrerFields(text),
  };
  if (tag !== undefined && !image.tags.includes(tag)) image.tags.push(tag);
  // An image left with no tag by a moved tag stays, untagged, as in ECR.
  repo.images[digest] = image;
  ctx.store.saveRepo(repo);
  return {
    image: {
      registryId: repo.registryId,
      repositoryName: repo.name,
      imageId: { imageDigest: digest, ...(tag !== undefined ? { imageTag: tag } : {}) },
      imageManifest: text,
      imageManifestMediaType: image.mediaType,
    },
  };
}

/**
 * PutImage's refusals of a push that changes nothing, or moves an immutable tag; otherwise the image already
 * stored under the digest (if any) and the image the tag is on now (if any).
 */
function refuseConflicts(
  repo: RepoRecord,
  digest: string,
  tag: string | undefined,
): { existing?: ImageRecord; tagOwner?: ImageRecord } {
  const existing = repo.images[digest];
  const tagOwner = tag === undefined ? undefined : Object.values(repo.images).find((img) => img.tags.includes(tag));
  const restored = existing !== undefined && restoreOnPush(existing);
  if (existing && !restored && (tag === undefined || tagOwner === existing)) {
    throw new ApiError(
      'ImageAlreadyExistsException',
      tag === undefined
        ? `Image with digest '${digest}' already exists in the repository with name '${repo.name}' in registry with id '${repo.registryId}'`
        : `Image with digest '${digest}' and tag '${tag}' already exists in the repository with name '${repo.name}' in registry with id '${repo.registryId}'`,
    );
  }
  if (tagOwner && tag !== undefined && tagIsImmutable(repo, tag)) {
    throw new ApiError(
      'ImageTagAlreadyExistsException',
      `The image tag '${tag}' already exists in the '${repo.name}' repository and cannot be overwritten because the tag is immutable.`,
    );
  }
  return { existing, tagOwner };
}

/** PutImage's refusals of a manifest that names what the repository lacks: blobs, or an index's images. */
function requireReferenced(ctx: Context, repo: RepoRecord, blobs: string[], children: string[]): void {
  // A layer completed within the fault's lag (faults.ts layerLagMs) is not visible yet, as ECR's consistency lag.
  const lagMs = ctx.faults.layerLagMs;
  const missing = blobs.filter((b) => {
    const layer = repo.layers[b];
    return !layer || (lagMs > 0 && Date.now() - layer.completedAt < lagMs);
  });
  if (missing.length) {
    throw new ApiError(
      'LayersNotFoundException',
      `Layers with digests '[${missing.join(', ')}]' required for pushing image into repository with name '${repo.name}' in the registry with id '${repo.registryId}' do not exist`,
    );
  }
  const missingChildren = children.filter((c) => !repo.images[c]);
  if (missingChildren.length) {
    throw new ApiError(
      'ReferencedImagesNotFoundException',
      `Manifest references images that do not exist in repository '${repo.name}': [${missingChildren.join(', ')}]`,
    );
  }
}

function tagFilter(input: Input): (img: ImageRecord) => boolean {
  const status: string = input.filter?.tagStatus ?? 'ANY';
  return (img) => (status === 'TAGGED' ? img.tags.length > 0 : status === 'UNTAGGED' ? img.tags.length === 0 : true);
}

export function listImages(ctx: Context, input: Input) {
  const repo = requireRepo(ctx, input);
  const keep = tagFilter(input);
  const inStatus = statusFilter(input);
  const ids: ImageId[] = [];
  for (const img of Object.values(repo.images)) {
    if (!keep(img) || !inStatus(img)) continue;
    if (img.tags.length === 0) ids.push({ imageDigest: img.digest });
    for (const t of img.tags) ids.push({ imageDigest: img.digest, imageTag: t });
  }
  const { items, nextToken } = pageOf('ListImages', ids, input.nextToken, input.maxResults);
  return { imageIds: items, ...(nextToken ? { nextToken } : {}) };
}

function detail(repo: RepoRecord, img: ImageRecord) {
  return {
    registryId: repo.registryId,
    repositoryName: repo.name,
    imageDigest: img.digest,
    ...(img.tags.length ? { imageTags: [...img.tags] } : {}),
    imageSizeInBytes: img.sizeInBytes,
    imagePushedAt: epochSeconds(img.pushedAt),
    imageManifestMediaType: img.mediaType,
    ...(img.artifactMediaType ? { artifactMediaType: img.artifactMediaType } : {}),
    ...(img.lastRecordedPullTime ? { lastRecordedPullTime: epochSeconds(img.lastRecordedPullTime) } : {}),
    ...(img.subject ? { subjectManifestDigest: img.subject } : {}),
    ...statusDetail(img),
  };
}

export function describeImages(ctx: Context, input: Input) {
  const repo = requireRepo(ctx, input);
  if (input.imageIds) {
    if (input.maxResults !== undefined || input.nextToken !== undefined) {
      throw invalidParameter('maxResults and nextToken cannot be used when imageIds is specified');
    }
    const inStatus = statusFilter(input);
    const details = (input.imageIds as ImageId[]).map((id) => {
      // Unlike the batch operations, which report a bad id as a failure, DescribeImages refuses the request.
      requireValidTag(id.imageTag);
      requireValidDigest(id.imageDigest);
      if (id.imageTag === undefined && id.imageDigest === undefined)
        throw invalidParameterAt('imageIds', 'Member must have either an imageTag or an imageDigest');
      const found = findImage(repo, id);
      if ('failureCode' in found || !inStatus(found.image)) {
        const what = id.imageTag !== undefined ? `imageTag=${id.imageTag}` : `imageDigest=${id.imageDigest}`;
        throw new ApiError(
          'ImageNotFoundException',
          `The image with imageId {${what}} does not exist within the repository with name '${repo.name}' in the registry with id '${repo.registryId}'`,
        );
      }
      return detail(repo, found.image);
    });
    return { imageDetails: details };
  }
  const keep = tagFilter(input);
  const inStatus = statusFilter(input);
  const all = Object.values(repo.images).filter((img) => keep(img) && inStatus(img));
  const { items, nextToken } = pageOf('DescribeImages', all, input.nextToken, input.maxResults);
  return { imageDetails: items.map((img) => detail(repo, img)), ...(nextToken ? { nextToken } : {}) };
}

export function batchDeleteImage(ctx: Context, input: Input) {
  const repo = requireRepo(ctx, input);
  const imageIds: ImageId[] = [];
  const failures: unknown[] = [];
  for (const id of input.imageIds as ImageId[]) {
    const img = imageOrFailure(repo, id, failures);
    if (!img) continue;
    const byDigestOnly = id.imageTag === undefined;
    if (byDigestOnly || img.tags.length === 1) {
      const parent = Object.values(repo.images).find((p) => p.children.includes(img.digest));
      if (parent) {
        failures.push({
          imageId: id,
          failureCode: 'ImageReferencedByManifestList',
          failureReason: `Requested image is referenced by a manifest list: [${parent.digest}]`,
        });
        continue;
      }
    }
    if (byDigestOnly) {
      delete repo.images[img.digest];
      if (img.tags.length === 0) imageIds.push({ imageDigest: img.digest });
      for (const t of img.tags) imageIds.push({ imageDigest: img.digest, imageTag: t });
    } else {
      img.tags = img.tags.filter((t) => t !== id.imageTag);
      if (img.tags.length === 0) delete repo.images[img.digest];
      imageIds.push({ imageDigest: img.digest, imageTag: id.imageTag });
    }
  }
  ctx.store.saveRepo(repo);
  return { imageIds, failures };
}
