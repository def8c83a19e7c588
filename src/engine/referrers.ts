/**
 * OCI 1.1 referrers through the ECR API: signatures, SBOMs and attestations are manifests whose `subject` names an
 * image, listed by ListImageReferrers (50 a page). Discovery is recursive (a signature of an SBOM of the image), in
 * breadth-first order so that a subject is always written before what refers to it, and every digest is kept: the
 * referrers move as their exact manifest bytes, so signatures still verify against the copy.
 */
import type { ArtifactStatusFilter } from '@aws-sdk/client-ecr';
import { EcrxError } from '../core/errors.js';
import type { Ecr } from '../ecr/client.js';
import { blobLabel, type ImageSet } from '../oci/image-set.js';
import type { Descriptor } from '../oci/manifest.js';
import type { BlobCache } from '../store/blob-cache.js';
import type { TransferEvents } from './events.js';
import { EcrSource } from '../sources/ecr.js';
import { availableBlobs, pushToEcr } from '../sinks/ecr.js';
import { cached, type CachedSource } from './cached.js';
import { pool } from './transfer.js';
import { MAX_REFERRER_DEPTH, walkReferrers } from '../oci/referrer-walk.js';

export interface Referrer {
  digest: string;
  mediaType: string;
  artifactType: string | null;
  size: number;
  annotations: Record<string, string> | null;
  artifactStatus: string | null;
  /** The manifest this one refers to. */
  subject: string;
}

export interface ListOptions {
  artifactTypes?: string[];
  /** ACTIVE (ECR's default), ARCHIVED, ACTIVATING or ANY. */
  status?: ArtifactStatusFilter;
  signal?: AbortSignal;
}

/** How deep a chain of referrers ecrx follows (signature of an attestation of an SBOM ... of the image). */

/** The referrers of one manifest, every page. */
export async function listReferrers(
  ecr: Ecr,
  repository: string,
  subject: string,
  opts: ListOptions = {},
): Promise<Referrer[]> {
  const out: Referrer[] = [];
  let nextToken: string | undefined;
  const filter = {
    ...(opts.artifactTypes?.length ? { artifactTypes: opts.artifactTypes } : {}),
    ...(opts.status ? { artifactStatus: opts.status } : {}),
  };
  do {
    const page = await ecr.request(
      'ListImageReferrers',
      ecr.withRegistry({
        repositoryName: repository,
        subjectId: { imageDigest: subject },
        ...(Object.keys(filter).length ? { filter } : {}),
        maxResults: 50,
        nextToken,
      }),
      `Listing the referrers of ${repository}@${subject}`,
      { signal: opts.signal },
    );
    for (const r of page.referrers ?? []) {
      out.push({
        digest: r.digest ?? '',
        mediaType: r.mediaType ?? '',
        artifactType: r.artifactType ?? null,
        size: r.size ?? 0,
        annotations: r.annotations ?? null,
        artifactStatus: r.artifactStatus ?? null,
        subject,
      });
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return out;
}

/**
 * Every referrer of `subjects`, and of those, down to MAX_REFERRER_DEPTH, each digest once, subjects before referrers.
 * `artifactTypes` filters only the first level (a signature of an SBOM is wanted with the SBOM).
 */
export async function referrerTree(
  ecr: Ecr,
  repository: string,
  subjects: string[],
  opts: ListOptions & { recursive?: boolean } = {},
): Promise<Referrer[]> {
  return walkReferrers(
    subjects,
    (subject, depth) =>
      listReferrers(ecr, repository, subject, {
        ...opts,
        artifactTypes: depth === 0 ? opts.artifactTypes : undefined,
      }),
    opts.recursive === false ? 1 : MAX_REFERRER_DEPTH,
  );
}

export interface ReferrerSets {
  referrer: Referrer;
  set: ImageSet;
}

/** Resolves each referrer by digest (an index keeps all its children) and fills the cache with its blobs. */
export async function fetchReferrers(o: {
  ecr: Ecr;
  repository: string;
  referrers: Referrer[];
  cache: BlobCache;
  concurrency: number;
  reporter: TransferEvents;
  signal?: AbortSignal;
  skip?: (digests: string[]) => Promise<Set<string>>;
}): Promise<ReferrerSets[]> {
  const out: ReferrerSets[] = [];
  for (const referrer of o.referrers) {
    const source = new EcrSource(o.ecr, { repository: o.repository, digest: referrer.digest });
    const { set } = await source.resolve({ platform: 'all', signal: o.signal });
    if (set.top.digest !== referrer.digest) {
      throw new EcrxError('DIGEST_MISMATCH', `Referrer ${referrer.digest} came back as ${set.top.digest}`, {
        details: { expected: referrer.digest, actual: set.top.digest },
      });
    }
    const present = o.skip ? await o.skip(set.blobs.map((b) => b.digest)) : new Set<string>();
    const blobs = set.blobs.filter((b) => !present.has(b.digest));
    await fillCache(cached(source, o.cache, { events: o.reporter }), blobs, set, o);
    out.push({ referrer, set });
  }
  return out;
}

/** The blobs into the cache, each reported as cached or downloaded, `concurrency` at once. */
async function fillCache(
  source: CachedSource,
  blobs: Descriptor[],
  set: ImageSet,
  o: { concurrency: number; reporter: TransferEvents; signal?: AbortSignal },
): Promise<void> {
  const info = (d: Descriptor) => ({ digest: d.digest, size: d.size, label: blobLabel(set.images, d.digest) });
  o.reporter.expect?.(blobs.map(info), 'download');
  await pool(
    blobs,
    o.concurrency,
    async (d, signal) => {
      if (await source.hit!(d, { signal })) return o.reporter.blobSkipped(info(d), 'cached');
      o.reporter.blobStart(info(d));
      await source.prepare!(d, { signal });
      o.reporter.blobDone(d.digest);
    },
    o.signal,
  );
}

export interface CopiedReferrer {
  digest: string;
  artifactType: string | null;
  subject: string;
}

/**
 * `--referrers` for copy: the referrers of every manifest copied, recursively, from one repository to another,
 * fetching only the blobs the destination lacks, each put by digest and untagged, as their tools push them.
 */
export async function copyReferrers(o: {
  from: Ecr;
  to: Ecr;
  srcRepository: string;
  dstRepository: string;
  subjects: string[];
  cache: BlobCache;
  concurrency: number;
  reporter: TransferEvents;
  signal?: AbortSignal;
}): Promise<CopiedReferrer[]> {
  o.reporter.phase('looking for referrers');
  const referrers = await referrerTree(o.from, o.srcRepository, o.subjects, { signal: o.signal });
  const copied: CopiedReferrer[] = [];
  for (const referrer of referrers) {
    const [{ set }] = await fetchReferrers({
      ecr: o.from,
      repository: o.srcRepository,
      referrers: [referrer],
      cache: o.cache,
      concurrency: o.concurrency,
      reporter: o.reporter,
      signal: o.signal,
      skip: (digests) => availableBlobs(o.to, o.dstRepository, digests, o.signal),
    });
    await pushToEcr({
      ecr: o.to,
      repository: o.dstRepository,
      set,
      blobPath: (d) => o.cache.path(d),
      tags: [],
      concurrency: o.concurrency,
      reporter: o.reporter,
      signal: o.signal,
    });
    copied.push({ digest: referrer.digest, artifactType: referrer.artifactType, subject: referrer.subject });
  }
  return copied;
}

/** Counts per artifact type, for listings. */
export function byArtifactType(referrers: Referrer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of referrers) counts[r.artifactType ?? 'unknown'] = (counts[r.artifactType ?? 'unknown'] ?? 0) + 1;
  return counts;
}

/** How many referrers an image has (first level, ACTIVE), or null when the endpoint or IAM does not say. */
export async function countReferrers(
  ecr: Ecr,
  repository: string,
  digest: string,
  signal?: AbortSignal,
): Promise<number | null> {
  try {
    return (await listReferrers(ecr, repository, digest, { signal })).length;
  } catch (err) {
    if ((err as { code?: string }).code === 'INTERRUPTED' || signal?.aborted) throw err;
    return null;
  }
}
