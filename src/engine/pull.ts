/** Pull: resolve in ECR, fill the store, write the chosen format. Emits events and returns what it did; never prints. */
import type { Writable } from 'node:stream';
import { CorruptBlobError, type BlobCache } from '../store/blob-cache.js';
import { formatReference, registryHost, type ImageRef } from '../core/reference.js';
import type { Ecr } from '../ecr/client.js';
import { resolveFromEcr, type ResolvedImage } from '../sources/ecr.js';
import { dockerArchiveEntries, ociLayoutEntries } from '../sinks/entries.js';
import { writeDirectory, writeTar, writeTarFile } from '../sinks/write.js';
import { withReferrers } from '../sinks/referrers-layout.js';
import type { OutputPlan } from '../sinks/output-target.js';
import type { Descriptor } from '../oci/manifest.js';
import type { ImageSet } from '../oci/image-set.js';
import { fetchBlobs, type FetchResult } from './fetch-blobs.js';
import { configPlatform, configToCheckFirst } from './platform-check.js';
import { fetchReferrers, referrerTree } from './referrers.js';
import type { TransferEvents } from './events.js';

export type OutputFormat = 'oci' | 'oci-archive' | 'docker-archive';

export interface PullOptions {
  ecr: Ecr;
  ref: ImageRef;
  format: OutputFormat;
  /** Where the output goes: a planned file or directory, or a stream (stdout) when absent. */
  plan?: OutputPlan;
  stream?: Writable;
  platform?: string;
  concurrency: number;
  cache: BlobCache;
  /** Also pull the image's referrers (signatures, SBOMs, attestations) into the layout. */
  referrers?: boolean;
  events: TransferEvents;
  signal: AbortSignal;
}

export interface PullResult {
  resolved: ResolvedImage;
  set: ImageSet;
  host: string;
  platform?: string;
  replaced: boolean;
  layers: { digest: string; size: number; mediaType: string; cached: boolean }[];
  bytesDownloaded: number;
  referrers?: { digest: string; artifactType: string | null; subject: string }[];
}

export async function pullImage(o: PullOptions): Promise<PullResult> {
  const { ecr, ref, cache, events, signal, format } = o;
  events.phase(`resolving ${formatReference(ref)}`);
  const resolved = await resolveFromEcr(ecr, ref, o.platform, signal);
  const { set } = resolved;
  let bytesDownloaded = 0;
  const fetch = (blobs: Descriptor[], verifyHits: boolean) =>
    fetchBlobs({
      ecr,
      repository: ref.repository,
      blobs,
      images: set.images,
      cache,
      concurrency: o.concurrency,
      reporter: events,
      signal,
      verifyHits,
      onBytes: (n) => (bytesDownloaded += n),
    });
  // A single-platform image's platform is in its config: with --platform, fetch that first (a cache hit re-hashed,
  // it is small) and check it before any layer moves.
  const checkFirst = configToCheckFirst(set, resolved.platform, o.platform);
  const results = await fetch(checkFirst, true);
  if (checkFirst.length) await configPlatform(set, cache, o.platform, formatReference(ref));
  events.phase(`fetching ${set.blobs.length} blob${set.blobs.length === 1 ? '' : 's'}`);
  // Into a file or directory every cached blob is hashed as it is copied; a stream cannot be taken back, so for
  // stdout they are checked first.
  for (const [digest, r] of await fetch(
    set.blobs.filter((b) => !results.has(b.digest)),
    !o.plan,
  ))
    results.set(digest, r);
  const healing = healer(
    set,
    async (blob) => {
      for (const [digest, r] of await fetch([blob], false)) results.set(digest, r);
    },
    (text) => events.notice(text),
  );
  const platform =
    resolved.platform ?? (await healing(() => configPlatform(set, cache, o.platform, formatReference(ref))));
  const referrers = o.referrers ? await pullReferrers(o, set) : undefined;

  const region = await ecr.region();
  const host = registryHost(resolved.registryId, region, ref.fips, ref.dualStack);
  const repoTags = ref.tag ? [`${host}/${ref.repository}:${ref.tag}`] : [];
  let entries =
    format === 'docker-archive'
      ? dockerArchiveEntries(set, cache, repoTags)
      : ociLayoutEntries(set, cache, { refName: ref.tag });
  if (referrers)
    entries = withReferrers(
      entries,
      referrers.map((r) => ({ subject: r.referrer.subject, artifactType: r.referrer.artifactType, set: r.set })),
      cache,
    );
  events.phase(`writing ${format}`);
  if (signal.aborted) throw signal.reason;
  const opts = {
    signal,
    onReplace: (target: string, previous: string) =>
      events.notice(`replacing earlier ecrx output at ${target} (${previous})`),
  };
  const plan = o.plan;
  let replaced = false;
  if (!plan) await healing(() => writeTar(entries, o.stream!, { format, signal }), false);
  else if (plan.kind === 'directory') replaced = (await healing(() => writeDirectory(entries, plan, opts))).replaced;
  else replaced = (await healing(() => writeTarFile(entries, plan, format, opts))).replaced;
  return {
    resolved,
    set,
    host,
    platform,
    replaced,
    layers: set.blobs.map((d) => layerOf(d, results)),
    bytesDownloaded,
    referrers: referrers?.map((r) => ({
      digest: r.referrer.digest,
      artifactType: r.referrer.artifactType,
      subject: r.referrer.subject,
    })),
  };
}

const layerOf = (d: Descriptor, results: Map<string, FetchResult>) => ({
  digest: d.digest,
  size: d.size,
  mediaType: d.mediaType,
  cached: results.get(d.digest)?.cached ?? false,
});

async function pullReferrers(o: PullOptions, set: ImageSet) {
  o.events.phase('looking for referrers');
  const found = await referrerTree(
    o.ecr,
    o.ref.repository,
    set.manifests.map((m) => m.digest),
    { signal: o.signal },
  );
  return fetchReferrers({
    ecr: o.ecr,
    repository: o.ref.repository,
    referrers: found,
    cache: o.cache,
    concurrency: o.concurrency,
    reporter: o.events,
    signal: o.signal,
  });
}

/**
 * Runs a step that reads cached blobs. A blob found corrupt on the way was already removed from the cache: it is
 * fetched again and the step redone, once per blob. A step whose output cannot be taken back (stdout) is not.
 */
function healer(set: ImageSet, refetch: (blob: Descriptor) => Promise<void>, notice: (text: string) => void) {
  const healed = new Set<string>();
  return async <T>(step: () => Promise<T>, canRedo = true): Promise<T> => {
    for (;;) {
      try {
        return await step();
      } catch (err) {
        const blob =
          err instanceof CorruptBlobError && canRedo && !healed.has(err.digest)
            ? set.blobs.find((b) => b.digest === err.digest)
            : undefined;
        if (!blob) throw err;
        healed.add(blob.digest);
        const { actual } = err as CorruptBlobError;
        notice(
          `cache: ${blob.digest} ${actual ? `was corrupt (its content hashes to ${actual}): removed it` : 'vanished from the cache while in use'}, downloading it again`,
        );
        await refetch(blob);
      }
    }
  };
}
