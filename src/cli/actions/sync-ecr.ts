/**
 * The sync backend for sources in ECR (any account, region or endpoint ecrx reaches): tags from ListImages,
 * sizes from DescribeImages, and each image moved by the copy engine (only missing blobs move, digest kept).
 * An image whose target tag already points at the source digest is skipped with no write call, so a rerun is
 * read-only. Sources in other registries go to the registry backend (sync-registry.ts, sync-backend.ts picks).
 */
import { EcrxError } from '../../core/errors.js';
import { parseAnyReference, parseReference, type ImageRef } from '../../core/reference.js';
import { Ecr } from '../../ecr/client.js';
import { noEvents } from '../../engine/events.js';
import { openCache } from '../session.js';
import { setHttpDebug } from '../../net/http.js';
import type { Reporter } from '../../report/reporter.js';
import { createReporter } from '../../report/create-reporter.js';
import type { ResolvedImage } from '../../sources/ecr.js';
import type { BlobCache } from '../../store/blob-cache.js';
import type { SyncJob } from '../../sync/expand.js';
import type { CreateSettings } from '../../sync/plan.js';
import type { JobResult } from '../../sync/report.js';
import type { SyncBackend } from '../../sync/run.js';
import { connectionFor, type EcrFlags } from '../common.js';
import { printDebug, printNote } from '../output.js';

export interface SyncFlags extends EcrFlags {
  concurrency: number;
  cacheDir?: string;
}

/** The error a non-ECR reference gets where only ECR can be (the ECR backend's own calls). */
export function registrySourceError(source: string): EcrxError {
  return new EcrxError(
    'UNSUPPORTED_REGISTRY',
    `${source}: sources outside ECR (Docker Hub, GHCR, Quay, public.ecr.aws, ...) arrive with the registry source; this ecrx syncs from ECR only`,
    { hint: 'Mirror from an ECR repository for now (any account, region or --endpoint-url), or drop this entry.' },
  );
}

/** The ECR reference of a source or target, or the registry-source error for anything else. */
export function ecrRef(text: string): ImageRef {
  const any = parseAnyReference(text, { defaultTag: false });
  if (any.registry && any.registry.kind !== 'ecr') throw registrySourceError(text);
  return parseReference(text, { defaultTag: false });
}

type Session = { ecr: Ecr; reporter: Reporter };

/** One connection per registry and region, opened on first use and shared by every image that needs it. */
export class Sessions {
  private readonly open = new Map<string, Promise<Session>>();
  /** Milliseconds of backoff after ThrottlingException, over every connection: ECR's quotas, not ecrx, set that pace. */
  throttledMs = 0;
  constructor(private readonly flags: SyncFlags) {}

  for(ref: ImageRef): Promise<Session> {
    const key = `${ref.registryId ?? ''}|${ref.region ?? ''}|${ref.fips ? 'fips' : ''}|${ref.dualStack ? 'ds' : ''}`;
    let s = this.open.get(key);
    if (!s) this.open.set(key, (s = this.connect(ref)));
    return s;
  }

  private async connect(ref: ImageRef): Promise<Session> {
    // Silent: the run's report is the output; per-blob progress of many images at once would be noise.
    const reporter = await createReporter('silent', 'sync');
    // The SDK takes ~50 ms of CPU to load: let the requests the run has already started (its registry pings and
    // manifest reads) reach the wire first, so that their round trips overlap that time instead of following it.
    await new Promise((r) => setImmediate(r));
    if (this.flags.debug) setHttpDebug(printDebug);
    const ecr = await Ecr.connect(connectionFor(this.flags, ref), {
      onRetry: (_op, _attempt, reason, delay) => {
        if (/^Throttling|Rate exceeded|TooManyRequests/i.test(reason)) this.throttledMs += delay;
      },
      notice: (line) => printNote(this.flags, line),
      debug: this.flags.debug ? printDebug : undefined,
    });
    return { reporter, ecr };
  }

  async close(): Promise<void> {
    for (const s of this.open.values())
      await s.then(
        (x) => (x.reporter.stop(), x.ecr.destroy()),
        () => undefined,
      );
  }
}

export async function listEcrTags(ecr: Ecr, repository: string, signal?: AbortSignal): Promise<string[]> {
  const tags: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ecr.request(
      'ListImages',
      ecr.withRegistry({ repositoryName: repository, filter: { tagStatus: 'TAGGED' }, maxResults: 1000, nextToken }),
      `Listing the tags of ${repository}`,
      { signal },
    );
    for (const id of page.imageIds ?? []) if (id.imageTag) tags.push(id.imageTag);
    nextToken = page.nextToken;
  } while (nextToken);
  return tags;
}

interface ImageDetail {
  imageDigest?: string;
  imageSizeInBytes?: number;
}

/** The image the id names in the repository, or undefined when it (or the repository) does not exist. */
export async function describeImage(
  ecr: Ecr,
  repository: string,
  imageId: { imageTag?: string; imageDigest?: string },
  signal: AbortSignal,
): Promise<ImageDetail | undefined> {
  try {
    const out = await ecr.request(
      'DescribeImages',
      ecr.withRegistry({ repositoryName: repository, imageIds: [imageId] }),
      `Looking up ${repository}`,
      { signal },
    );
    return out.imageDetails?.[0];
  } catch (err) {
    const code = (err as EcrxError).code;
    if (code === 'IMAGE_NOT_FOUND' || code === 'REPOSITORY_NOT_FOUND') return undefined;
    throw err;
  }
}

export async function ensureRepository(
  ecr: Ecr,
  name: string,
  create: CreateSettings,
  signal: AbortSignal,
): Promise<void> {
  try {
    await ecr.request(
      'DescribeRepositories',
      ecr.withRegistry({ repositoryNames: [name] }),
      `Looking up repository ${name}`,
      { signal },
    );
    return;
  } catch (err) {
    if ((err as EcrxError).code !== 'REPOSITORY_NOT_FOUND') throw err;
  }
  const request = {
    repositoryName: name,
    imageTagMutability: create.tagMutability,
    ...(create.scanOnPush ? { imageScanningConfiguration: { scanOnPush: true } } : {}),
    encryptionConfiguration: { encryptionType: create.encryption, ...(create.kmsKey ? { kmsKey: create.kmsKey } : {}) },
  };
  await ecr
    .request('CreateRepository', ecr.withRegistry(request), `Creating repository ${name}`, { signal })
    .catch((err) => {
      // Another shard (or image) created it first: that is what was wanted.
      if ((err as EcrxError).code !== 'ALREADY_EXISTS') throw err;
    });
}

/** copyImage takes one platform or all; a list of several arrives with the engine's platform filter. */
export function platformOf(job: SyncJob): string {
  if (job.platforms === 'all') return 'all';
  if (job.platforms.length === 1) return job.platforms[0];
  throw new EcrxError(
    'VALIDATION_ERROR',
    `${job.source}: copying ${job.platforms.length} platforms (${job.platforms.join(', ')}) of an image is not supported yet: one platform, or all`,
    { hint: 'Give one platform per plan entry, or platforms: all.' },
  );
}

/**
 * With `referrers: true`, an image already at its target counts as in place only when every referrer of the source
 * (recursively) is there too: a run cut off between the image and its signatures finishes them on the next run.
 */
async function referrersInPlace(
  job: SyncJob,
  from: Ecr,
  src: ImageRef,
  to: Ecr,
  dst: ImageRef,
  resolved: ResolvedImage,
  signal: AbortSignal,
): Promise<boolean> {
  if (!job.referrers) return true;
  const subjects = resolved.set.manifests.map((m) => m.digest);
  const { referrerTree } = await import('../../engine/referrers.js');
  const wanted = await referrerTree(from, src.repository, subjects, { signal });
  if (!wanted.length) return true;
  const present = new Set((await referrerTree(to, dst.repository, subjects, { signal })).map((r) => r.digest));
  return wanted.every((r) => present.has(r.digest));
}

export function ecrBackend(flags: SyncFlags): SyncBackend & { close(): Promise<void> } {
  const sessions = new Sessions(flags);
  const repositories = new Map<string, Promise<void>>();
  let cache: BlobCache | undefined;

  const listTags = async (repository: string, signal?: AbortSignal) => {
    const ref = ecrRef(repository);
    return listEcrTags((await sessions.for(ref)).ecr, ref.repository, signal);
  };

  const describe = async (job: SyncJob, signal: AbortSignal) => {
    const ref = ecrRef(job.source);
    const d = await describeImage(
      (await sessions.for(ref)).ecr,
      ref.repository,
      ref.digest ? { imageDigest: ref.digest } : { imageTag: ref.tag },
      signal,
    );
    if (!d)
      throw new EcrxError('IMAGE_NOT_FOUND', `${job.source} does not exist`, {
        hint: 'Check the plan entry; `ecrx tags <repository>` lists the tags that exist.',
      });
    return { digest: d.imageDigest ?? null, bytes: d.imageSizeInBytes ?? null };
  };

  const runJob = async (job: SyncJob, signal: AbortSignal): Promise<JobResult> => {
    const src = ecrRef(job.source);
    const dst = ecrRef(job.target);
    const platform = platformOf(job);
    const from = await sessions.for(src);
    const to = await sessions.for(dst);
    // The ECR source and the copy engine load on first use: a run from a registry needs neither.
    const { resolveFromEcr } = await import('../../sources/ecr.js');
    const resolved = await resolveFromEcr(from.ecr, src, platform, signal);
    const digest = resolved.set.top.digest;
    const there = await describeImage(
      to.ecr,
      dst.repository,
      job.tag ? { imageTag: job.tag } : { imageDigest: digest },
      signal,
    );
    if (there?.imageDigest === digest && (await referrersInPlace(job, from.ecr, src, to.ecr, dst, resolved, signal)))
      return { digest, bytes: 0, skipped: true };
    const repoKey = `${dst.registryId ?? ''}|${dst.region ?? ''}|${dst.repository}`;
    let ensured = repositories.get(repoKey);
    if (!ensured) repositories.set(repoKey, (ensured = ensureRepository(to.ecr, dst.repository, job.create, signal)));
    await ensured;
    cache ??= openCache(flags);
    const { copyImage } = await import('../../engine/copy.js');
    const out = await copyImage(
      { from: from.ecr, to: to.ecr, cache, events: noEvents },
      src,
      dst.repository,
      job.tag ? [job.tag] : [],
      { concurrency: flags.concurrency, referrers: job.referrers },
      platform,
      signal,
    );
    return { digest: out.set.top.digest, bytes: out.result.bytesUploaded, skipped: false };
  };

  return { listTags, describe, runJob, throttledMs: () => sessions.throttledMs, close: () => sessions.close() };
}
