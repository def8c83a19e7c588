/**
 * Pull, a preset of transfer(): an image source (ECR, or an OCI distribution registry) through the cache into a
 * layout, an OCI archive or a docker-archive (sinks/local.ts), written from the cache. Into a file or directory every
 * cached blob is hashed as it is copied (no second read; a corrupt one is fetched again and the output written once
 * more); for stdout, which cannot be taken back, cached blobs are re-hashed before the first byte leaves. Emits
 * events and returns what it did; never prints.
 */
import type { Writable } from 'node:stream';
import type { BlobCache } from '../store/blob-cache.js';
import { CorruptBlobError } from '../store/blob-cache.js';
import type { Ecr } from '../ecr/client.js';
import type { ImageSource } from '../sources/source.js';
import { LocalSink, type LocalFormat } from '../sinks/local.js';
import type { LayoutReferrerInput } from '../sinks/referrers-layout.js';
import type { OutputPlan } from '../sinks/output-target.js';
import type { Descriptor } from '../oci/manifest.js';
import type { ImageSet } from '../oci/image-set.js';
import { cached, type CachedSource, type StoreFiller } from './cached.js';
import { configPlatform } from './platform-check.js';
import { fetchReferrers, referrerTree } from './referrers.js';
import { transfer } from './transfer.js';
import type { TransferEvents } from './events.js';

export type OutputFormat = LocalFormat;

export interface PullOptions {
  source: ImageSource & Partial<StoreFiller>;
  format: OutputFormat;
  /** Where the output goes: a planned file or directory, or a stream (stdout) when absent. */
  plan?: OutputPlan;
  stream?: Writable;
  platform?: string;
  /**
   * The names written into the output (`host/repo:tag`): a docker-archive's RepoTags, a layout's ref name. Asked for
   * once the image is resolved (an ECR host needs the registry id the answer names).
   */
  tags: () => string[];
  concurrency: number;
  cache: BlobCache;
  /** Also pull the image's referrers (signatures, SBOMs, attestations) into the layout: ECR only. */
  referrers?: { ecr: Ecr; repository: string };
  events: TransferEvents;
  signal: AbortSignal;
}

export interface PulledReferrer {
  digest: string;
  artifactType: string | null;
  subject: string;
}

export interface PullResult {
  set: ImageSet;
  platform?: string;
  replaced: boolean;
  layers: { digest: string; size: number; mediaType: string; cached: boolean }[];
  bytesDownloaded: number;
  /** Bytes of partials earlier, interrupted runs left, continued instead of fetched again. */
  bytesReused: number;
  referrers?: PulledReferrer[];
}

export async function pullImage(o: PullOptions): Promise<PullResult> {
  const { cache, events, signal } = o;
  // Configs are read for the platform before any layer moves: they are re-hashed even when the write would.
  const configs = new Set<string>();
  const source = cached(o.source, cache, {
    events,
    verifyHits: (d) => !o.plan || configs.has(d.digest),
  });
  const watched: ImageSource = {
    ...source,
    resolve: async (opts) => {
      const r = await source.resolve(opts);
      for (const i of r.set.images) configs.add(i.manifest.config.digest);
      return { ...r, names: o.tags() };
    },
  };
  let referrers: PulledReferrer[] | undefined;
  const sink = new LocalSink(o.plan, o.format, {
    store: cache,
    verifiedNow: (digest) => source.filled.has(digest),
    stream: o.stream,
    onReplace: (target, previous) => events.notice(`replacing earlier ecrx output at ${target} (${previous})`),
    heal: (err, set) => heal(source, set, err, events, signal),
    referrers: o.referrers
      ? async (set) => {
          const found = await pullReferrers(o, o.referrers!, set);
          referrers = found.map((r) => ({
            subject: r.subject,
            artifactType: r.artifactType,
            digest: r.set.top.digest,
          }));
          return found;
        }
      : undefined,
  });
  const r = await transfer(
    watched,
    sink,
    { platform: o.platform },
    {
      concurrency: o.concurrency,
      events,
      signal,
      attempts: 1,
      direction: 'download',
      reportHits: true,
      movePhase: (n) => `fetching ${n} blob${n === 1 ? '' : 's'}`,
    },
  ).finally(() => source.close?.());
  const { set } = r;
  // A single-platform image names its platform in its config, read from the cache (healed if it rotted meanwhile).
  const platform =
    r.platform ??
    (await configPlatform(set, cache, o.platform, source.name).catch(async (err) => {
      if (!(await heal(source, set, err, events, signal))) throw err;
      return configPlatform(set, cache, o.platform, source.name);
    }));
  const downloaded = source.bytesFilled;
  return {
    set,
    platform,
    replaced: sink.replaced,
    layers: set.blobs.map((d: Descriptor) => ({
      digest: d.digest,
      size: d.size,
      mediaType: d.mediaType,
      cached: source.hits.has(d.digest),
    })),
    bytesDownloaded: downloaded,
    bytesReused: source.bytesReused,
    referrers,
  };
}

/** A blob of the image found corrupt in the cache (already removed): said, and fetched again. */
async function heal(
  source: CachedSource,
  set: ImageSet,
  err: unknown,
  events: TransferEvents,
  signal: AbortSignal,
): Promise<boolean> {
  if (!(err instanceof CorruptBlobError)) return false;
  const blob = set.blobs.find((b) => b.digest === err.digest);
  if (!blob) return false;
  events.notice(
    `cache: ${blob.digest} ${err.actual ? `was corrupt (its content hashes to ${err.actual}): removed it` : 'vanished from the cache while in use'}, downloading it again`,
  );
  await source.refill(blob, signal);
  return true;
}

async function pullReferrers(
  o: PullOptions,
  from: { ecr: Ecr; repository: string },
  set: ImageSet,
): Promise<(LayoutReferrerInput & { set: ImageSet })[]> {
  o.events.phase('looking for referrers');
  const found = await referrerTree(
    from.ecr,
    from.repository,
    set.manifests.map((m) => m.digest),
    { signal: o.signal },
  );
  const sets = await fetchReferrers({
    ecr: from.ecr,
    repository: from.repository,
    referrers: found,
    cache: o.cache,
    concurrency: o.concurrency,
    reporter: o.events,
    signal: o.signal,
  });
  return sets.map((r) => ({ subject: r.referrer.subject, artifactType: r.referrer.artifactType, set: r.set }));
}
