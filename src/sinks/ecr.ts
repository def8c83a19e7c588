/**
 * Writing an image set into an ECR repository: BatchCheckLayerAvailability (100 digests a call), the missing blobs
 * uploaded concurrently (each digest once, even when two platforms share it), then PutImage with the exact manifest
 * bytes: an index's children by digest first, then the top under each tag.
 */
import type { BatchCheckLayerAvailabilityResponse, PutImageResponse } from '@aws-sdk/client-ecr';
import { EcrxError } from '../core/errors.js';
import type { Ecr } from '../ecr/client.js';
import { fromAws } from '../ecr/errors.js';
import { uploadBlob } from '../ecr/upload.js';
import { sleep } from '../core/retry.js';
import { blobLabel, type ImageSet, type ManifestBlob } from '../oci/image-set.js';
import type { TransferEvents } from '../engine/events.js';
import { shortDigest } from '../core/digest.js';
import { checkManifestBytes } from '../oci/limits.js';
import { AbortScope } from '../core/abort-scope.js';

export interface SinkOptions {
  ecr: Ecr;
  repository: string;
  set: ImageSet;
  /** Where a blob's bytes are; may fetch it first (copy streams through the cache). */
  blobPath: (digest: string) => Promise<string> | string;
  tags: string[];
  concurrency: number;
  reporter: TransferEvents;
  signal?: AbortSignal;
  /** Checks the blobs about to be uploaded, before the first upload starts. */
  verifyBeforeUpload?: (digests: string[]) => Promise<void>;
  /** How long LayersNotFoundException right after an upload is waited out (ECR's consistency lag). */
  layerLagMs?: number;
}

const countBlobs = (n: number) => `${n} blob${n === 1 ? '' : 's'}`;

export interface SinkResult {
  registryId?: string;
  layers: { digest: string; size: number; uploaded: boolean }[];
  bytesUploaded: number;
}

export async function availableBlobs(
  ecr: Ecr,
  repository: string,
  digests: string[],
  signal?: AbortSignal,
): Promise<Set<string>> {
  const available = new Set<string>();
  for (let i = 0; i < digests.length; i += 100) {
    const out = await ecr.request<BatchCheckLayerAvailabilityResponse>(
      'BatchCheckLayerAvailability',
      ecr.withRegistry({ repositoryName: repository, layerDigests: digests.slice(i, i + 100) }),
      `Checking which blobs ${repository} already has`,
      { signal },
    );
    for (const l of out.layers ?? [])
      if (l.layerAvailability === 'AVAILABLE' && l.layerDigest) available.add(l.layerDigest);
  }
  return available;
}

export async function pushToEcr(o: SinkOptions): Promise<SinkResult> {
  const { ecr, repository, set, reporter } = o;
  // What PutImage will refuse is refused now, before the first upload rather than after the last.
  for (const m of set.manifests) checkManifestBytes(m.bytes, `The manifest ${m.digest}`);
  reporter.phase(`checking ${countBlobs(set.blobs.length)} in ${repository}`);
  const available = await availableBlobs(
    ecr,
    repository,
    set.blobs.map((b) => b.digest),
    o.signal,
  );
  const missing = set.blobs.filter((b) => !available.has(b.digest)).map((b) => b.digest);
  if (o.verifyBeforeUpload && missing.length) {
    reporter.phase(`verifying ${countBlobs(missing.length)}`);
    await o.verifyBeforeUpload(missing);
  }

  reporter.expect?.(
    set.blobs.map((b) => ({ digest: b.digest, size: b.size, label: blobLabel(set.images, b.digest) })),
    'upload',
  );
  const { default: pLimit } = await import('p-limit');
  const limit = pLimit(o.concurrency);
  const once = new Map<string, Promise<boolean>>();
  // One signal per upload (see AbortScope): 16 at once on a shared one would trip MaxListenersExceededWarning.
  const scope = new AbortScope(o.signal);
  let bytesUploaded = 0;

  const sendBlob = (digest: string, size: number): Promise<boolean> => {
    let p = once.get(digest);
    if (!p) {
      p = limit(async () => {
        if (scope.signal.aborted) return false;
        const info = { digest, size, label: blobLabel(set.images, digest) };
        reporter.blobStart(info);
        const path = await o.blobPath(digest);
        let acked = 0;
        const outcome = await scope.run((signal) =>
          uploadBlob({
            ecr,
            repository,
            digest,
            size,
            path,
            signal,
            maxStalled: ecr.maxAttempts,
            onProgress: (bytes) => {
              bytesUploaded += bytes - acked;
              acked = bytes;
              reporter.blobProgress(digest, bytes);
            },
            onRetry: (reason) => reporter.retry(shortDigest(digest), reason),
          }),
        );
        reporter.blobDone(digest);
        return outcome === 'uploaded';
      });
      once.set(digest, p);
    }
    return p;
  };

  const uploaded = new Map<string, boolean>();
  try {
    await Promise.all(
      set.blobs.map(async (b) => {
        if (available.has(b.digest)) {
          reporter.blobSkipped({ digest: b.digest, size: b.size, label: blobLabel(set.images, b.digest) }, 'exists');
          uploaded.set(b.digest, false);
          return;
        }
        try {
          uploaded.set(b.digest, await sendBlob(b.digest, b.size));
        } catch (err) {
          scope.fail(err);
        }
      }),
    );
  } finally {
    scope.dispose();
  }
  scope.throwIfFailed();

  let registryId: string | undefined;
  const anyUploaded = [...uploaded.values()].some(Boolean);
  const put = async (m: ManifestBlob, tag?: string) => {
    reporter.phase(`PutImage ${repository}${tag ? `:${tag}` : `@${m.digest}`}`);
    const id = await putImage(o, m, tag, anyUploaded ? (o.layerLagMs ?? 5000) : 1000);
    registryId ??= id;
  };
  // An index's children go first, by digest and untagged: ECR refuses an index whose children are missing.
  for (const child of set.images) if (child.digest !== set.top.digest) await put(child);
  if (o.tags.length === 0) await put(set.top);
  for (const tag of o.tags) await put(set.top, tag);

  return {
    registryId,
    layers: set.blobs.map((b) => ({ digest: b.digest, size: b.size, uploaded: uploaded.get(b.digest) ?? false })),
    bytesUploaded,
  };
}

async function putImage(
  o: SinkOptions,
  m: ManifestBlob,
  tag: string | undefined,
  lagMs: number,
): Promise<string | undefined> {
  const { ecr, repository } = o;
  const started = Date.now();
  const what = `${repository}${tag ? `:${tag}` : ''}@${m.digest}`;
  for (let attempt = 1; ; attempt++) {
    try {
      const out = await ecr.call<PutImageResponse>(
        'PutImage',
        ecr.withRegistry({
          repositoryName: repository,
          imageManifest: m.bytes.toString('utf8'),
          imageManifestMediaType: m.mediaType,
          imageDigest: m.digest,
          ...(tag ? { imageTag: tag } : {}),
        }),
        { signal: o.signal },
      );
      return out.image?.registryId;
    } catch (caught: unknown) {
      const err = caught as { name?: string } | undefined;
      switch (err?.name) {
        case 'ImageAlreadyExistsException':
          return undefined; // the same manifest under the same tag: an idempotent re-push
        case 'ImageTagAlreadyExistsException':
          throw new EcrxError(
            'TAG_IMMUTABLE',
            `Tag '${tag}' already exists in ${repository} on another image, and the repository's tags are immutable`,
            {
              hint: 'Push under a new tag, or delete the old image first if that is really what you want.',
              details: { tag, repository },
              cause: err,
            },
          );
        case 'LayersNotFoundException':
        case 'ReferencedImagesNotFoundException':
          // Seen for a few hundred ms after a successful upload: wait it out, briefly.
          if (Date.now() - started < lagMs) {
            o.reporter.retry('PutImage', `${err.name} (ECR's consistency lag): retrying`);
            await sleep(Math.min(250 * attempt, 1000), o.signal);
            continue;
          }
          throw fromAws(err, `PutImage ${what}`);
        default:
          throw fromAws(err, `PutImage ${what}`);
      }
    }
  }
}
