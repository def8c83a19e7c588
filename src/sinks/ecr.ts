/**
 * Writing an image set into an ECR repository: BatchCheckLayerAvailability (100 digests a call), the missing blobs
 * uploaded concurrently (each digest once, even when two platforms share it), then PutImage with the exact manifest
 * bytes: an index's children by digest first, then the top under each tag.
 */
import { EcrxError } from '../core/errors.js';
import type { Ecr } from '../ecr/client.js';
import { fromAws } from '../ecr/errors.js';
import { uploadBlob } from '../ecr/upload.js';
import { sleep } from '../core/retry.js';
import { blobLabel, type ImageSet, type ManifestBlob } from '../oci/image-set.js';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { TransferEvents } from '../engine/events.js';
import type { BlobStore } from '../store/blob-store.js';
import type { Descriptor } from '../oci/manifest.js';
import type { BlobInput, BlobWritten, ImageSink, SinkResult as WrittenImage } from './sink.js';
import { shortDigest } from '../core/digest.js';
import { checkManifestBytes } from '../oci/limits.js';
import { AbortScope } from '../core/abort-scope.js';
import { Budget } from '../core/budget.js';
import { DEFAULT_PART, MiB } from '../ecr/parts.js';

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
  /** Bytes an earlier, interrupted push had already put in ECR (uploads it left open, continued). */
  bytesReused?: number;
}

export async function availableBlobs(
  ecr: Ecr,
  repository: string,
  digests: string[],
  signal?: AbortSignal,
): Promise<Set<string>> {
  const available = new Set<string>();
  for (let i = 0; i < digests.length; i += 100) {
    const out = await ecr.request(
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

  const anyUploaded = [...uploaded.values()].some(Boolean);
  const registryId = await putManifests(o, set, o.tags, anyUploaded);

  return {
    registryId,
    layers: set.blobs.map((b) => ({ digest: b.digest, size: b.size, uploaded: uploaded.get(b.digest) ?? false })),
    bytesUploaded,
  };
}

type PutContext = Pick<SinkOptions, 'ecr' | 'repository' | 'reporter' | 'signal' | 'layerLagMs'>;

/** PutImage for each manifest by its exact bytes: an index's children first, untagged, then the top under each tag. */
async function putManifests(
  o: PutContext,
  set: ImageSet,
  tags: string[],
  anyUploaded: boolean,
): Promise<string | undefined> {
  let registryId: string | undefined;
  const put = async (m: ManifestBlob, tag?: string) => {
    o.reporter.phase(`PutImage ${o.repository}${tag ? `:${tag}` : `@${m.digest}`}`);
    const id = await putImage(o, m, tag, anyUploaded ? (o.layerLagMs ?? 5000) : 1000);
    registryId ??= id;
  };
  // An index's children go first, by digest and untagged: ECR refuses an index whose children are missing.
  for (const child of set.images) if (child.digest !== set.top.digest) await put(child);
  if (tags.length === 0) await put(set.top);
  for (const tag of tags) await put(set.top, tag);
  return registryId;
}

async function putImage(
  o: PutContext,
  m: ManifestBlob,
  tag: string | undefined,
  lagMs: number,
): Promise<string | undefined> {
  const { ecr, repository } = o;
  const started = Date.now();
  const what = `${repository}${tag ? `:${tag}` : ''}@${m.digest}`;
  for (let attempt = 1; ; attempt++) {
    try {
      const out = await ecr.call(
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

/**
 * ECR as an ImageSink: BatchCheckLayerAvailability says what is missing; a blob is uploaded from a local file
 * (uploadBlob: parts, resume after a lost part) once the engine has verified it; the manifests go last by their
 * exact bytes. A blob handed over as a stream only is spooled into `spool` first. Nothing uncommitted is visible
 * in ECR (an upload never completed is dropped by ECR), so abort() has nothing to remove.
 */
const nothing = () => {};
/** For a sink nobody listens to (the contracts are types only here, so engine/events' noEvents is not imported). */
const quiet: TransferEvents = {
  phase: nothing,
  blobStart: nothing,
  blobProgress: nothing,
  blobSkipped: nothing,
  blobDone: nothing,
  retry: nothing,
  notice: nothing,
};

/**
 * Blobs uploaded at once by default. The client paces each operation (ecr/pacer.ts), so InitiateLayerUpload and
 * CompleteLayerUpload never burst into throttles, and three round trips per blob want many blobs in flight on a
 * real link. `-j` given by the user is the ceiling instead.
 */
export const ECR_UPLOADS_AT_ONCE = 16;

/**
 * Memory an upload holds: its part buffer and the part's base64 request body (ecr/upload.ts). Large blobs share
 * one budget, so sixteen small blobs go at once while parts of 10 MiB go about four at a time, as before.
 */
const partMemory = new Budget(96 * MiB);
const memoryOf = (size: number) => Math.ceil((Math.min(size, DEFAULT_PART) * 7) / 3) + 4096;

export interface EcrSinkOptions {
  /** Where a blob handed over without a local file is spooled before its upload. */
  spool?: BlobStore;
  /** How long LayersNotFoundException right after an upload is waited out (ECR's consistency lag). */
  layerLagMs?: number;
  /** Phases and retries of writeImage (PutImage), which the contract gives no events of its own. */
  events?: TransferEvents;
}

export class EcrSink implements ImageSink {
  readonly name: string;
  readonly streams = true;
  private uploaded = new Map<string, boolean>();
  /** Bytes ECR already held from uploads an earlier, interrupted push left open (push resume). */
  bytesReused = 0;

  constructor(
    private readonly ecr: Ecr,
    private readonly repository: string,
    private readonly opts: EcrSinkOptions = {},
  ) {
    this.name = `ECR ${repository}`;
  }

  /** Whether this sink uploaded the blob (false: ECR already had it when the upload began). */
  didUpload(digest: string): boolean {
    return this.uploaded.get(digest) ?? false;
  }

  /** What PutImage will refuse is refused now, before the first upload rather than after the last. */
  check(set: ImageSet): void {
    for (const m of set.manifests) checkManifestBytes(m.bytes, `The manifest ${m.digest}`);
  }

  async missing(blobs: Descriptor[], signal?: AbortSignal): Promise<Descriptor[]> {
    this.opts.events?.phase(`checking ${countBlobs(blobs.length)} in ${this.repository}`);
    const present = await availableBlobs(
      this.ecr,
      this.repository,
      blobs.map((b) => b.digest),
      signal,
    );
    return blobs.filter((b) => !present.has(b.digest));
  }

  async writeBlob(input: BlobInput, events: TransferEvents, signal?: AbortSignal): Promise<BlobWritten> {
    const { digest, size } = input.descriptor;
    // A blob still downloading is uploaded as it grows, and completed only once its download is verified
    // (uploadBlob waits on the growing file); anything else is a complete file, checked before the first part.
    const growing = input.path ? undefined : input.growing;
    const path = growing ? undefined : (input.path ?? (await this.spooled(input, signal)));
    if (!growing) await input.verified;
    let acked = 0;
    let resumed = 0;
    const giveBack = await partMemory.take(memoryOf(size), signal);
    let outcome: Awaited<ReturnType<typeof uploadBlob>>;
    try {
      outcome = await uploadBlob({
        ecr: this.ecr,
        repository: this.repository,
        digest,
        size,
        path,
        parts: growing,
        signal,
        maxStalled: this.ecr.maxAttempts,
        onProgress: (bytes) => {
          acked = bytes;
          events.blobProgress(digest, bytes);
        },
        onRetry: (reason) => events.retry(shortDigest(digest), reason),
        onResumed: (bytes) => (resumed = bytes),
      });
    } finally {
      giveBack();
    }
    await input.verified;
    this.uploaded.set(digest, outcome === 'uploaded');
    if (outcome === 'uploaded') this.bytesReused += resumed;
    return { bytes: outcome === 'uploaded' ? acked - resumed : 0, reused: resumed };
  }

  /** A blob without a local file, written into the spool store as the engine reads it (and so verifies it). */
  private async spooled(input: BlobInput, signal?: AbortSignal): Promise<string> {
    const { digest } = input.descriptor;
    if (!this.opts.spool)
      throw new EcrxError('SERVICE_ERROR', `${this.name}: blob ${digest} has no local file and no spool was given`);
    const spool = this.opts.spool;
    const tmp = spool.tmpPath(digest.slice(7, 19));
    try {
      await pipeline(input.open(0, signal), createWriteStream(tmp, { flags: 'wx' }), { signal });
      await input.verified;
      return await spool.commit(tmp, digest);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async writeImage(set: ImageSet, tags: string[], signal?: AbortSignal): Promise<WrittenImage> {
    const anyUploaded = [...this.uploaded.values()].some(Boolean);
    const registryId = await putManifests(
      {
        ecr: this.ecr,
        repository: this.repository,
        reporter: this.opts.events ?? quiet,
        signal,
        layerLagMs: this.opts.layerLagMs,
      },
      set,
      tags,
      anyUploaded,
    );
    return { target: `${this.repository}${tags[0] ? `:${tags[0]}` : ''}`, digest: set.top.digest, registryId };
  }

  async abort(): Promise<void> {}
}
