import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { ApiError, invalidParameterAt } from '../api-error.js';
import { fileDigest } from '../../core/digest.js';
import { writeAll } from '../../core/write-all.js';
import { type Context, type Input, requireRepo } from '../context.js';
import { isValidDigest } from '../ecr-rules.js';
import type { UploadRecord } from '../store.js';
import { checkLayerDownloadable, layerAvailability } from './storage-class.js';

/** How long an idle upload is kept when --upload-expiry is not given (ECR's own expiry is undocumented). */
export const DEFAULT_UPLOAD_EXPIRY_SECONDS = 86400;

/** What InitiateLayerUpload answers, as ECR does. */
export const PART_SIZE = 10 * 1024 * 1024;
const MIN_PART = 5 * 1024 * 1024;

/** Running sha256 of each upload's bytes so CompleteLayerUpload need not read the file again. Lost on restart. */
const runningHashes = new Map<string, { hash: Hash; bytes: number }>();
/** Parts of one upload are applied one after another even when a client sends them at once. */
const uploadLocks = new Map<string, Promise<unknown>>();

function serialized<T>(id: string, fn: () => Promise<T>): Promise<T> {
  const prev = uploadLocks.get(id) ?? Promise.resolve();
  const next = prev.then(fn, fn);
  const settled = next.catch(() => undefined);
  uploadLocks.set(id, settled);
  void settled.then(() => {
    if (uploadLocks.get(id) === settled) uploadLocks.delete(id);
  });
  return next;
}

export function batchCheckLayerAvailability(ctx: Context, input: Input) {
  const repo = requireRepo(ctx, input);
  const layers: unknown[] = [];
  const failures: unknown[] = [];
  for (const digest of input.layerDigests as string[]) {
    if (digest === '') {
      failures.push({ layerDigest: digest, failureCode: 'MissingLayerDigest', failureReason: 'Missing layer digest' });
    } else if (!isValidDigest(digest)) {
      failures.push({ layerDigest: digest, failureCode: 'InvalidLayerDigest', failureReason: 'Invalid layer digest' });
    } else if (repo.layers[digest]) {
      layers.push({
        layerDigest: digest,
        layerAvailability: layerAvailability(repo, digest),
        layerSize: repo.layers[digest].size,
      });
    } else {
      failures.push({ layerDigest: digest, failureCode: 'MissingLayerDigest', failureReason: 'Could not find layer' });
    }
  }
  return { layers, failures };
}

export function getDownloadUrlForLayer(ctx: Context, input: Input) {
  const repo = requireRepo(ctx, input);
  const digest: string = input.layerDigest;
  if (!repo.layers[digest] || !ctx.store.hasBlob(digest)) {
    throw new ApiError(
      'LayersNotFoundException',
      `The specified layer '${digest}' could not be found in the repository with name '${repo.name}' in the registry with id '${repo.registryId}'`,
    );
  }
  checkLayerDownloadable(repo, digest);
  const referenced = Object.values(repo.images).some((img) => img.blobs.includes(digest));
  if (!referenced) {
    throw new ApiError(
      'LayerInaccessibleException',
      `The specified layer '${digest}' is not associated with an image in the repository with name '${repo.name}' in the registry with id '${repo.registryId}'`,
    );
  }
  return { downloadUrl: ctx.presign(repo.registryId, repo.name, digest), layerDigest: digest };
}

export function initiateLayerUpload(ctx: Context, input: Input) {
  const repo = requireRepo(ctx, input);
  const up = ctx.store.newUpload(repo.registryId, repo.name);
  runningHashes.set(up.id, { hash: createHash('sha256'), bytes: 0 });
  return { uploadId: up.id, partSize: PART_SIZE };
}

/** Whether `up` has had no part for longer than uploads are kept. */
function expired(ctx: Context, up: UploadRecord): boolean {
  const seconds = ctx.options.uploadExpirySeconds ?? DEFAULT_UPLOAD_EXPIRY_SECONDS;
  return Date.now() - (up.updatedAt ?? up.createdAt) > seconds * 1000;
}

/**
 * The upload `input` names, whichever client started it: the state lives here, keyed by uploadId, so a second
 * process may continue what a killed one began. An expired upload is dropped and answered as one never known.
 */
function requireUpload(ctx: Context, input: Input): UploadRecord {
  const repo = requireRepo(ctx, input);
  let up = ctx.store.getUpload(input.uploadId);
  if (up && expired(ctx, up)) {
    ctx.store.dropUpload(up);
    runningHashes.delete(up.id);
    up = undefined;
  }
  if (!up || up.registryId !== repo.registryId || up.repositoryName !== repo.name) {
    throw new ApiError(
      'UploadNotFoundException',
      `Upload with id '${input.uploadId}' is not found in the repository with name '${repo.name}' in the registry with id '${repo.registryId}'`,
    );
  }
  return up;
}

export function uploadLayerPart(ctx: Context, input: Input) {
  const up = requireUpload(ctx, input);
  return serialized(up.id, async () => {
    if (!ctx.store.getUpload(up.id)) {
      throw new ApiError('UploadNotFoundException', `Upload with id '${up.id}' is not found`);
    }
    const data = Buffer.from(input.layerPartBlob as string, 'base64');
    const first: number = input.partFirstByte;
    const last: number = input.partLastByte;
    const invalidPart = (why: string) =>
      new ApiError('InvalidLayerPartException', why, 400, {
        registryId: up.registryId,
        repositoryName: up.repositoryName,
        uploadId: up.id,
        lastValidByteReceived: Math.max(up.received - 1, 0),
      });
    if (first !== up.received) {
      throw invalidPart(
        `The layer part's first byte ${first} is not the byte after the last byte received (${up.received - 1})`,
      );
    }
    if (last < first || last - first + 1 !== data.length) {
      throw invalidPart(`The layer part's byte range ${first}-${last} does not match the ${data.length} bytes sent`);
    }
    const fh = await open(ctx.store.uploadDataPath(up.id), 'r+');
    try {
      await writeAll(fh, [data], first);
    } finally {
      await fh.close();
    }
    const running = runningHashes.get(up.id);
    if (running && running.bytes === first) {
      running.hash.update(data);
      running.bytes += data.length;
    } else {
      runningHashes.delete(up.id);
    }
    up.received += data.length;
    up.parts.push(data.length);
    up.updatedAt = Date.now();
    ctx.store.saveUpload(up);
    return {
      registryId: up.registryId,
      repositoryName: up.repositoryName,
      uploadId: up.id,
      lastByteReceived: up.received - 1,
    };
  });
}

export function completeLayerUpload(ctx: Context, input: Input) {
  const repo = requireRepo(ctx, input);
  const up = requireUpload(ctx, input);
  const digests = input.layerDigests as string[];
  // The model allows up to 100; the service takes exactly one (an upload is one layer).
  if (digests.length !== 1) throw invalidParameterAt('layerDigests', 'Member must have length less than or equal to 1');
  const expected = digests[0];
  return serialized(up.id, async () => {
    if (repo.layers[expected] && ctx.store.hasBlob(expected)) {
      ctx.store.dropUpload(up);
      runningHashes.delete(up.id);
      throw new ApiError(
        'LayerAlreadyExistsException',
        `The layer with digest '${expected}' already exists in the repository with name '${repo.name}' in the registry with id '${repo.registryId}'`,
      );
    }
    if (up.received === 0) {
      ctx.store.dropUpload(up);
      throw new ApiError('EmptyUploadException', `The upload with id '${up.id}' does not contain any layer parts`);
    }
    const small = up.parts.slice(0, -1).findIndex((n) => n < MIN_PART);
    if (small >= 0) {
      ctx.store.dropUpload(up);
      runningHashes.delete(up.id);
      throw new ApiError(
        'LayerPartTooSmallException',
        `Layer part ${small + 1} of upload '${up.id}' is ${up.parts[small]} bytes; every part but the last must be at least ${MIN_PART} bytes`,
      );
    }
    const running = runningHashes.get(up.id);
    const actual =
      running && running.bytes === up.received
        ? `sha256:${running.hash.digest('hex')}`
        : await fileDigest(ctx.store.uploadDataPath(up.id));
    runningHashes.delete(up.id);
    if (actual !== expected) {
      ctx.store.dropUpload(up);
      throw new ApiError(
        'InvalidLayerException',
        `The layer digest calculated for the upload '${up.id}' (${actual}) does not match the digest provided (${expected})`,
      );
    }
    ctx.store.commitBlob(ctx.store.uploadDataPath(up.id), expected);
    ctx.store.dropUpload(up);
    repo.layers[expected] = { size: up.received, completedAt: Date.now() };
    ctx.store.saveRepo(repo);
    return { registryId: repo.registryId, repositoryName: repo.name, uploadId: up.id, layerDigest: expected };
  });
}
