/**
 * One sync run, independent of how images move: expand the plan, keep this shard's images, move each through the
 * backend's `runJob` with bounded concurrency (one failing image does not stop the others), and build the report.
 * The backend is the seam (src/cli/actions/sync-backend.ts): ECR sources, registry sources and the air gap's
 * directories each answer `listTags`, `check`, `runJob` and `describe` for their references.
 */
import { setMaxListeners } from 'node:events';
import pLimit from 'p-limit';
import { expandPlan, jobKey, type ListTags, type SyncJob } from './expand.js';
import type { Plan } from './plan.js';
import { buildReport, errorOf, type DryRunItem, type ImageReport, type JobResult, type SyncReport } from './report.js';
import { pickShard, type Shard } from './shard.js';

export interface SyncBackend {
  listTags: ListTags;
  /** Moves one image (creating its target repository as the job says); resolves with what moved, or throws. */
  runJob(job: SyncJob, signal: AbortSignal): Promise<JobResult>;
  /** For `--dry-run`: the source image's digest and size when the source can tell, without moving anything. */
  describe(job: SyncJob, signal: AbortSignal): Promise<{ digest: string | null; bytes: number | null }>;
  /**
   * Whether the image is already in place, cheaply (reads only): a result with `skipped: true` when it is, else
   * undefined (runJob then moves it). Checks run wider than moves (CHECK_FACTOR x the concurrency), so a rerun
   * that moves nothing is bound by round trips, not by the number of images moved at once.
   */
  check?(job: SyncJob, signal: AbortSignal): Promise<JobResult | undefined>;
  /** Milliseconds the run spent backing off from ECR's throttling so far, over all images, when the backend counts. */
  throttledMs?(): number;
}

export interface RunOptions {
  shard?: Shard;
  /** Images in flight at once. */
  concurrency: number;
  signal: AbortSignal;
  /** Told of each image as it ends (a progress line), in completion order. */
  onImage?: (image: ImageReport) => void;
  now?: () => number;
}

/** The jobs this shard runs, and the plan entries that could not be expanded (in this shard by their own key). */
async function shardJobs(plan: Plan, backend: SyncBackend, opts: RunOptions) {
  const { jobs, failures } = await expandPlan(plan, backend.listTags, {
    concurrency: opts.concurrency,
    signal: opts.signal,
  });
  return {
    jobs: pickShard(jobs, jobKey, opts.shard),
    failures: pickShard(failures, (f) => jobKey(f), opts.shard),
  };
}

const failedImage = (source: string, target: string, tag: string | null, error: unknown): ImageReport => ({
  source,
  sourceDigest: null,
  target,
  tag,
  bytes: 0,
  skipped: false,
  error: errorOf(error),
  durationMs: 0,
});

/** How many more checks than moves run at once: a check is a few small reads. */
export const CHECK_FACTOR = 8;

export async function runSync(plan: Plan, backend: SyncBackend, opts: RunOptions): Promise<SyncReport> {
  const now = opts.now ?? Date.now;
  const started = now();
  const { jobs, failures } = await shardJobs(plan, backend, opts);
  const limit = pLimit(opts.concurrency);
  const checkLimit = pLimit(opts.concurrency * CHECK_FACTOR);
  // Every image in flight listens to the run's signal (several times: its requests, its blobs).
  setMaxListeners(Math.max(64, opts.concurrency * CHECK_FACTOR * 8), opts.signal);
  // A failed check is not a verdict: runJob then tries the image and reports what happens.
  const checked = (job: SyncJob) =>
    backend.check ? checkLimit(() => backend.check!(job, opts.signal).catch(() => undefined)) : undefined;
  const images: (ImageReport & { throttledMs?: number })[] = failures.map((f) =>
    failedImage(f.source, f.target, null, f.error),
  );
  for (const image of images) opts.onImage?.(image);
  const done = await Promise.all(
    jobs.map(async (job) => {
      const t0 = now();
      const inPlace = await checked(job);
      return limit(async () => {
        let image: ImageReport & { throttledMs?: number };
        try {
          // An interrupted run stops starting images; the ones running see the signal themselves.
          opts.signal.throwIfAborted();
          const r = inPlace ?? (await backend.runJob(job, opts.signal));
          image = {
            source: job.source,
            sourceDigest: r.digest,
            target: job.target,
            tag: job.tag ?? null,
            bytes: r.bytes,
            skipped: r.skipped,
            error: null,
            durationMs: now() - t0,
            ...(r.throttledMs ? { throttledMs: r.throttledMs } : {}),
          };
        } catch (err) {
          if (opts.signal.aborted) throw opts.signal.reason ?? err;
          image = { ...failedImage(job.source, job.target, job.tag ?? null, err), durationMs: now() - t0 };
        }
        opts.onImage?.(image);
        return image;
      });
    }),
  );
  return buildReport(plan.file, opts.shard, [...images, ...done], now() - started, backend.throttledMs?.() ?? 0);
}

export async function dryRun(plan: Plan, backend: SyncBackend, opts: RunOptions): Promise<DryRunItem[]> {
  const { jobs, failures } = await shardJobs(plan, backend, opts);
  const limit = pLimit(opts.concurrency);
  const items: DryRunItem[] = failures.map((f) => {
    const { code, message } = errorOf(f.error);
    return { source: f.source, target: f.target, tag: null, digest: null, bytes: null, error: { code, message } };
  });
  const described = await Promise.all(
    jobs.map((job) =>
      limit(async (): Promise<DryRunItem> => {
        const base = { source: job.source, target: job.target, tag: job.tag ?? null };
        try {
          const d = await backend.describe(job, opts.signal);
          return { ...base, digest: d.digest, bytes: d.bytes, error: null };
        } catch (err) {
          if (opts.signal.aborted) throw opts.signal.reason ?? err;
          const { code, message } = errorOf(err);
          return { ...base, digest: job.digest ?? null, bytes: null, error: { code, message } };
        }
      }),
    ),
  );
  return [...items, ...described];
}
