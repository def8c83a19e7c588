import { createHash } from 'node:crypto';
import { ApiError, invalidParameter } from '../api-error.js';
import { type Context, type Input, requireRepo, epochSeconds, DIGEST_RE, TAG_RE } from '../context.js';
import type { ImageRecord, RepoRecord } from '../store.js';
import { MediaType, isIndexMediaType } from '../../oci/media-types.js';
import { tagIsImmutable } from './repositories.js';
import { pageOf } from './paging.js';
import { inaccessible, restoreOnPush, statusDetail, statusFilter } from './storage-class.js';
import { referrerFields } from './referrers.js';

interface ImageId {
  imageDigest?: string;
  imageTag?: string;
}

type Lookup = { image: ImageRecord } | { failureCode: string; failureReason: string };

function findImage(repo: RepoRecord, id: ImageId): Lookup {
  if (!id.imageDigest && !id.imageTag) return { failureCode: 'MissingDigestAndTag', failureReason: 'Missing image digest and tag' };
  if (id.imageDigest !== undefined && !DIGEST_RE.test(id.imageDigest)) {
    return { failureCode: 'InvalidImageDigest', failureReason: 'Invalid request parameters: image digest should satisfy the regex \'[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+\'' };
  }
  if (id.imageTag !== undefined && !TAG_RE.test(id.imageTag)) {
    return { failureCode: 'InvalidImageTag', failureReason: 'Invalid request parameters: image tag is not valid' };
  }
  let image: ImageRecord | undefined;
  if (id.imageTag !== undefined) {
    image = Object.values(repo.images).find((img) => img.tags.includes(id.imageTag!));
    if (image && id.imageDigest !== undefined && image.digest !== id.imageDigest) {
      return { failureCode: 'ImageTagDoesNotMatchDigest', failureReason: 'Requested image digest does not match the digest of the image with the specified tag' };
    }
  } else {
    image = repo.images[id.imageDigest!];
  }
  if (!image) return { failureCode: 'ImageNotFound', failureReason: 'Requested image not found' };
  return { image };
}

export function batchGetImage(ctx: Context, input: Input) {
  const repo = requireRepo(ctx, input);
  const images: unknown[] = [];
  const failures: unknown[] = [];
  const seen = new Set<string>();
  for (const id of input.imageIds as ImageId[]) {
    const k = `${id.imageDigest ?? ''}|${id.imageTag ?? ''}`;
    if (seen.has(k)) continue; // ECR answers each distinct id once
    seen.add(k);
    const found = findImage(repo, id);
    if ('failureCode' in found) {
      failures.push({ imageId: id, failureCode: found.failureCode, failureReason: found.failureReason });
      continue;
    }
    const img = found.image;
    const archived = inaccessible(img);
    if (archived) {
      failures.push({ imageId: id, ...archived });
      continue;
    }
    img.lastRecordedPullTime = Date.now();
    images.push({
      registryId: repo.registryId,
      repositoryName: repo.name,
      imageId: { imageDigest: img.digest, ...(id.imageTag !== undefined ? { imageTag: id.imageTag } : {}) },
      imageManifest: img.manifest,
      imageManifestMediaType: img.mediaType,
    });
  }
  return { images, failures };
}

interface ParsedManifest {
  mediaType: string;
  artifactMediaType?: string;
  blobs: { digest: string; size: number }[];
  children: string[];
}

function parseManifest(text: string, declared: string | undefined): ParsedManifest {
  let doc: any;
  try {
    doc = JSON.parse(text);
  } catch {
    throw invalidParameter("Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'");
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw invalidParameter("Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Manifest must be a JSON object'");
  }
  const inManifest: string | undefined = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  if (declared && inManifest && declared !== inManifest) {
    throw invalidParameter(`Invalid parameter at 'imageManifestMediaType': '${declared}' does not match the manifest's mediaType '${inManifest}'`);
  }
  let mediaType = declared ?? inManifest;
  if (!mediaType) {
    if (doc.schemaVersion === 1) mediaType = MediaType.dockerSchema1;
    else if (Array.isArray(doc.manifests)) mediaType = MediaType.ociIndex;
    else mediaType = MediaType.ociManifest;
  }
  const desc = (d: any, where: string) => {
    if (!d || typeof d.digest !== 'string' || !DIGEST_RE.test(d.digest) || typeof d.size !== 'number') {
      throw invalidParameter(`Invalid parameter at 'ImageManifest' failed to satisfy constraint: '${where} must be a descriptor with a sha256 digest and a size'`);
    }
    return { digest: d.digest as string, size: d.size as number };
  };
  if (mediaType === MediaType.dockerSchema1 || mediaType === MediaType.dockerSchema1Signed) {
    const layers = Array.isArray(doc.fsLayers) ? doc.fsLayers : [];
    return { mediaType, blobs: layers.map((l: any) => ({ digest: l.blobSum, size: 0 })), children: [] };
  }
  if (isIndexMediaType(mediaType)) {
    if (!Array.isArray(doc.manifests)) {
      throw invalidParameter("Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'manifests is required in an index'");
    }
    return { mediaType, blobs: [], children: doc.manifests.map((m: any, i: number) => desc(m, `manifests[${i}]`).digest) };
  }
  if (doc.schemaVersion !== 2) {
    throw invalidParameter("Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'schemaVersion must be 2'");
  }
  const config = desc(doc.config, 'config');
  const layers = Array.isArray(doc.layers) ? doc.layers.map((l: any, i: number) => desc(l, `layers[${i}]`)) : [];
  return {
    mediaType,
    artifactMediaType: typeof doc.config?.mediaType === 'string' ? doc.config.mediaType : undefined,
    blobs: [config, ...layers],
    children: [],
  };
}

export function putImage(ctx: Context, input: Input) {
  const repo = requireRepo(ctx, input);
  const text: string = input.imageManifest;
  const digest = `sha256:${createHash('sha256').update(text, 'utf8').digest('hex')}`;
  if (input.imageDigest !== undefined && input.imageDigest !== digest) {
    throw new ApiError(
      'ImageDigestDoesNotMatchException',
      `Invalid parameter at 'imageDigest' failed to satisfy constraint: 'Provided digest '${input.imageDigest}' does not match the digest of the image manifest '${digest}''`,
    );
  }
  const tag: string | undefined = input.imageTag;
  if (tag !== undefined && !TAG_RE.test(tag)) {
    throw invalidParameter(`Invalid parameter at 'imageTag' failed to satisfy constraint: 'The tag '${tag}' is not valid'`);
  }
  const parsed = parseManifest(text, input.imageManifestMediaType);

  const lagMs = ctx.faults.layerLagMs;
  const missing = parsed.blobs.filter((b) => {
    const layer = repo.layers[b.digest];
    return !layer || (lagMs > 0 && Date.now() - layer.completedAt < lagMs);
  });
  if (missing.length) {
    throw new ApiError(
      'LayersNotFoundException',
      `Layers with digests '[${missing.map((m) => m.digest).join(', ')}]' required for pushing image into repository with name '${repo.name}' in the registry with id '${repo.registryId}' do not exist`,
    );
  }
  const missingChildren = parsed.children.filter((c) => !repo.images[c]);
  if (missingChildren.length) {
    throw new ApiError(
      'ReferencedImagesNotFoundException',
      `Manifest references images that do not exist in repository '${repo.name}': [${missingChildren.join(', ')}]`,
    );
  }

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
  if (tagOwner && tagIsImmutable(repo, tag!)) {
    throw new ApiError(
      'ImageTagAlreadyExistsException',
      `The image tag '${tag}' already exists in the '${repo.name}' repository and cannot be overwritten because the tag is immutable.`,
    );
  }
  if (tagOwner) tagOwner.tags = tagOwner.tags.filter((t) => t !== tag);
  const size = parsed.children.length
    ? parsed.children.reduce((n, c) => n + repo.images[c].sizeInBytes, 0)
    : parsed.blobs.slice(1).reduce((n, b) => n + (repo.layers[b.digest]?.size ?? b.size), 0);
  const image: ImageRecord = existing ?? {
    digest,
    manifest: text,
    mediaType: parsed.mediaType,
    artifactMediaType: parsed.artifactMediaType,
    sizeInBytes: size,
    pushedAt: Date.now(),
    tags: [],
    blobs: parsed.blobs.map((b) => b.digest),
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
  const { items, nextToken } = pageOf(ids, input.nextToken, input.maxResults, 100);
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
      const found = findImage(repo, id);
      if ('failureCode' in found || !inStatus(found.image)) {
        const what = id.imageTag !== undefined ? `imageTag=${id.imageTag}` : `imageDigest=${id.imageDigest}`;
        throw new ApiError('ImageNotFoundException', `The image with imageId {${what}} does not exist within the repository with name '${repo.name}' in the registry with id '${repo.registryId}'`);
      }
      return detail(repo, found.image);
    });
    return { imageDetails: details };
  }
  const keep = tagFilter(input);
  const inStatus = statusFilter(input);
  const all = Object.values(repo.images).filter((img) => keep(img) && inStatus(img));
  const { items, nextToken } = pageOf(all, input.nextToken, input.maxResults, 100);
  return { imageDetails: items.map((img) => detail(repo, img)), ...(nextToken ? { nextToken } : {}) };
}

export function batchDeleteImage(ctx: Context, input: Input) {
  const repo = requireRepo(ctx, input);
  const imageIds: ImageId[] = [];
  const failures: unknown[] = [];
  for (const id of input.imageIds as ImageId[]) {
    const found = findImage(repo, id);
    if ('failureCode' in found) {
      failures.push({ imageId: id, failureCode: found.failureCode, failureReason: found.failureReason });
      continue;
    }
    const img = found.image;
    const byDigestOnly = id.imageTag === undefined;
    if (byDigestOnly || img.tags.length === 1) {
      const parent = Object.values(repo.images).find((p) => p.children.includes(img.digest));
      if (parent) {
        failures.push({ imageId: id, failureCode: 'ImageReferencedByManifestList', failureReason: `Requested image is referenced by a manifest list: [${parent.digest}]` });
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
