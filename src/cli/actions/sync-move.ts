/**
 * Moving one sync job with the transfer engine, whatever the two sides are: a source side (an OCI registry, or a
 * directory of OCI layouts on the disconnected side) and a target side (ECR, or that directory on the connected
 * side). The image is resolved once; when the target already has its digest under the tag (and every referrer, when
 * asked) nothing is written, not one call; else transfer() moves what the target lacks, then the referrers, each by
 * digest and untagged, as their tools push them.
 */
import { EcrxError } from '../../core/errors.js';
import type { ImageRef } from '../../core/reference.js';
import { noEvents } from '../../engine/events.js';
import type { ImageSink } from '../../sinks/sink.js';
import type { ImageSource, ResolvedImage } from '../../sources/source.js';
import type { SyncJob } from '../../sync/expand.js';
import type { JobResult } from '../../sync/report.js';
import type { SyncBackend } from '../../sync/run.js';
import type { BlobCache } from '../../store/blob-cache.js';
import { describeImage, ecrRef, ensureRepository, platformOf, type Sessions } from './sync-ecr.js';

/** Where a sync reads images: it lists a repository's tags, opens an image, and finds its referrers. */
export interface SourceSide {
  listTags(repository: string, signal?: AbortSignal): Promise<string[]>;
  /** The job's image (or, with `digest`, another manifest of its repository: a referrer), ready for transfer(). */
  open(job: SyncJob, digest?: string): Promise<ImageSource>;
  /** The referrers of `subjects` in the job's source repository, recursively, subjects first. */
  referrers(job: SyncJob, subjects: string[], signal: AbortSignal): Promise<{ digest: string }[]>;
  close(): Promise<void>;
}

/** Where a sync writes images. */
export interface TargetSide {
  /**
   * The digest the target has under the job's tag, or (a job by digest, without a tag) `digest` itself when it has
   * that image; undefined: none. `digest` is read only for a job without a tag.
   */
  current(job: SyncJob, digest: string, signal: AbortSignal): Promise<string | undefined>;
  /** Of these referrer digests, the ones the target already holds. */
  present(job: SyncJob, subjects: string[], signal: AbortSignal): Promise<Set<string>>;
  /** A sink for the job's target (created first, as the job says, when missing). */
  sink(job: SyncJob, signal: AbortSignal): Promise<ImageSink>;
  close(): Promise<void>;
  /** Milliseconds spent backing off from the target's throttling, over the run. */
  throttledMs?(): number;
}

/** The source with its image already resolved: transfer() asks again, and the answer is the same. */
function resolvedOnce(source: ImageSource, resolved: ResolvedImage): ImageSource {
  return Object.assign(Object.create(source) as ImageSource, { resolve: async () => resolved });
}

interface Looked {
  source: ImageSource;
  resolved: ResolvedImage;
  /** Whether the target has the image (and its referrers, when asked): nothing to write. */
  inPlace: boolean;
  /** The referrers the target lacks (when asked). */
  missing: () => Promise<{ digest: string }[]>;
}

export function moveJob(from: SourceSide, to: TargetSide, concurrency: number) {
  /** What check() learned, for the runJob() of the same image: resolved once per run. */
  const looked = new Map<SyncJob, Promise<Looked>>();

  const look = async (job: SyncJob, signal: AbortSignal): Promise<Looked> => {
    const source = await from.open(job);
    // A tagged target is looked up while the source resolves (the digest matters only to a job by digest).
    const early = job.tag ? to.current(job, '', signal) : undefined;
    early?.catch(() => undefined);
    const resolved = await source.resolve({ platform: platformOf(job), signal });
    const digest = resolved.set.top.digest;
    const subjects = resolved.set.manifests.map((m) => m.digest);
    let wanted: { digest: string }[] | undefined;
    const missing = async () => {
      wanted ??= await from.referrers(job, subjects, signal);
      if (!wanted.length) return [];
      const there = await to.present(job, subjects, signal);
      return wanted.filter((r) => !there.has(r.digest));
    };
    const current = await (early ?? to.current(job, digest, signal));
    const inPlace = current === digest && (!job.referrers || !(await missing()).length);
    return { source, resolved, inPlace, missing };
  };

  const check = async (job: SyncJob, signal: AbortSignal): Promise<JobResult | undefined> => {
    const p = look(job, signal);
    looked.set(job, p);
    const { inPlace, resolved } = await p;
    if (inPlace) looked.delete(job);
    return inPlace ? { digest: resolved.set.top.digest, bytes: 0, skipped: true } : undefined;
  };

  const run = async (job: SyncJob, signal: AbortSignal): Promise<JobResult> => {
    const earlier = looked.get(job);
    looked.delete(job);
    const { source, resolved, inPlace, missing } = await (earlier?.catch(() => look(job, signal)) ?? look(job, signal));
    const digest = resolved.set.top.digest;
    if (inPlace) return { digest, bytes: 0, skipped: true };
    // Loaded only when something moves: a no-op rerun never needs the transfer engine (start-up time).
    const { transfer } = await import('../../engine/transfer.js');
    const options = { concurrency, signal, events: noEvents };
    let bytes = 0;
    try {
      const r = await transfer(
        resolvedOnce(source, resolved),
        await to.sink(job, signal),
        { platform: platformOf(job), tags: job.tag ? [job.tag] : [] },
        options,
      );
      bytes += r.bytesMoved;
    } catch (err) {
      // An immutable tag that already names this very image: what the run wanted is there.
      if ((err as EcrxError).code !== 'TAG_IMMUTABLE' || (await to.current(job, digest, signal)) !== digest) throw err;
    }
    if (job.referrers)
      for (const r of await missing()) {
        const sink = await to.sink(job, signal);
        const moved = await transfer(await from.open(job, r.digest), sink, { platform: 'all', tags: [] }, options);
        if (moved.set.top.digest !== r.digest)
          throw new EcrxError(
            'DIGEST_MISMATCH',
            `Referrer ${r.digest} of ${job.source} came back as ${moved.set.top.digest}`,
          );
        bytes += moved.bytesMoved;
      }
    return { digest, bytes, skipped: false };
  };

  return { check, run };
}

/** ECR as the target side: DescribeImages for what is there, ListImageReferrers for referrers, an EcrSink. */
export function ecrTarget(sessions: Sessions, cache: () => BlobCache): TargetSide {
  const repositories = new Map<string, Promise<void>>();
  const key = (dst: ImageRef) => `${dst.registryId ?? ''}|${dst.region ?? ''}|${dst.repository}`;
  return {
    async current(job, digest, signal) {
      const dst = ecrRef(job.target);
      const { ecr } = await sessions.for(dst);
      const there = await describeImage(
        ecr,
        dst.repository,
        job.tag ? { imageTag: job.tag } : { imageDigest: digest },
        signal,
      );
      return there?.imageDigest;
    },
    async present(job, subjects, signal) {
      const { referrerTree } = await import('../../engine/referrers.js');
      const dst = ecrRef(job.target);
      const { ecr } = await sessions.for(dst);
      return new Set((await referrerTree(ecr, dst.repository, subjects, { signal })).map((r) => r.digest));
    },
    async sink(job, signal) {
      const dst = ecrRef(job.target);
      const { ecr } = await sessions.for(dst);
      let ensured = repositories.get(key(dst));
      if (!ensured) repositories.set(key(dst), (ensured = ensureRepository(ecr, dst.repository, job.create, signal)));
      // A failed creation is tried again by the next image, not remembered.
      await ensured.catch((err: unknown) => {
        repositories.delete(key(dst));
        throw err;
      });
      const { EcrSink } = await import('../../sinks/ecr.js');
      return new EcrSink(ecr, dst.repository, { spool: cache() });
    },
    close: () => sessions.close(),
    throttledMs: () => sessions.throttledMs,
  };
}

/** A SyncBackend from a source side and a target side. */
export function sideBackend(
  from: SourceSide,
  to: TargetSide,
  concurrency: number,
): SyncBackend & { close(): Promise<void> } {
  const { check, run } = moveJob(from, to, concurrency);
  return {
    listTags: (repository, signal) => from.listTags(repository, signal),
    check,
    runJob: run,
    async describe(job, signal) {
      const resolved = await (await from.open(job)).resolve({ platform: platformOf(job), signal });
      const bytes = resolved.set.blobs.reduce((n, b) => n + b.size, 0);
      return { digest: resolved.set.top.digest, bytes };
    },
    throttledMs: () => to.throttledMs?.() ?? 0,
    close: async () => {
      await from.close();
      await to.close();
    },
  };
}
