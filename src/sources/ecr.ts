/**
 * Reading an image from ECR: BatchGetImage for the manifest (its sha256 verified over the exact bytes), the
 * platform chosen from an index, children fetched by digest in batches of 100, and the blobs' descriptors.
 */
import type { GrowingWriter } from '../core/growing.js';
import { EcrxError } from '../core/errors.js';
import { selectPlatform } from './select-platform.js';
import { formatReference, type ImageRef } from '../core/reference.js';
import type { Ecr } from '../ecr/client.js';
import { parseManifest, type Descriptor } from '../oci/manifest.js';
import { collectBlobs, type ImageEntry, type ImageSet, type ManifestBlob } from '../oci/image-set.js';
import { batchGet, fetchRoot, type FetchedManifest } from '../ecr/batch-get.js';
import { inaccessibleLayerError } from '../ecr/archived.js';
import { downloadToCache } from './ecr-download.js';
import type { IngestResult } from '../store/ingest.js';
import { httpGet, readSmallBody } from '../net/http.js';
import { shortDigest } from '../core/digest.js';
import { UrlPrefetcher } from './url-prefetch.js';
import { runBudget } from '../net/budget.js';
import type { BlobStore } from '../store/blob-store.js';
import type { TransferEvents } from '../engine/events.js';
import type { BlobRange, ImageSource, OpenedBlob, ResolvedImage as SourceResolved } from './source.js';

export interface ResolvedImage {
  set: ImageSet;
  registryId: string;
  repository: string;
  /** "linux/amd64", "all", or undefined for a single-platform image. */
  platform?: string;
}

export async function resolveFromEcr(
  ecr: Ecr,
  ref: ImageRef,
  platformOpt: string | undefined,
  signal?: AbortSignal,
): Promise<ResolvedImage> {
  const { root, parsed } = await fetchRoot(ecr, ref, signal);
  const rootBlob: ManifestBlob = { digest: root.digest, mediaType: parsed.mediaType, bytes: root.bytes };

  if (parsed.kind === 'manifest') {
    const images: ImageEntry[] = [{ ...rootBlob, manifest: parsed.manifest }];
    return {
      set: { top: rootBlob, images, manifests: [rootBlob], blobs: collectBlobs(images) },
      registryId: root.registryId,
      repository: ref.repository,
    };
  }

  const descriptors = parsed.index.manifests;
  const { chosen, label: platformLabel } = selectPlatform(descriptors, platformOpt, formatReference(ref));

  const children = await fetchChildren(ecr, ref.repository, chosen, signal);
  const images: ImageEntry[] = [];
  for (const d of chosen) {
    const child = children.get(d.digest)!;
    const cp = parseManifest(child.bytes, d.mediaType);
    if (cp.kind !== 'manifest')
      throw new EcrxError(
        'INVALID_IMAGE',
        `${d.digest} in the index of ${formatReference(ref)} is itself an index; nested indexes are not supported`,
      );
    images.push({
      digest: d.digest,
      mediaType: cp.mediaType,
      bytes: child.bytes,
      manifest: cp.manifest,
      platform: d.platform,
    });
  }
  const top = platformOpt === 'all' ? rootBlob : images[0];
  const manifests: ManifestBlob[] = platformOpt === 'all' ? [rootBlob, ...images] : [images[0]];
  return {
    set: {
      top: { digest: top.digest, mediaType: top.mediaType, bytes: top.bytes },
      images,
      manifests,
      blobs: collectBlobs(images),
    },
    registryId: root.registryId,
    repository: ref.repository,
    platform: platformLabel,
  };
}

async function fetchChildren(
  ecr: Ecr,
  repository: string,
  descriptors: Descriptor[],
  signal?: AbortSignal,
): Promise<Map<string, FetchedManifest>> {
  const all = new Map<string, FetchedManifest>();
  const digests = [...new Set(descriptors.map((d) => d.digest))];
  for (let i = 0; i < digests.length; i += 100) {
    const batch = digests.slice(i, i + 100);
    const got = await batchGet(
      ecr,
      repository,
      batch.map((imageDigest) => ({ imageDigest })),
      signal,
    );
    for (const [k, v] of got) all.set(k, v);
  }
  for (const d of descriptors) {
    const m = all.get(d.digest);
    if (!m)
      throw new EcrxError(
        'IMAGE_NOT_FOUND',
        `The index of ${repository} references ${d.digest}, which ECR did not return`,
      );
    if (m.bytes.length !== d.size) {
      throw new EcrxError(
        'SIZE_MISMATCH',
        `Manifest ${d.digest} is ${m.bytes.length} bytes but the index says ${d.size}`,
        { details: { expectedSize: d.size, actualSize: m.bytes.length } },
      );
    }
  }
  return all;
}

/**
 * A pre-signed download URL for one blob, asked for again when `fresh` (the last one expired or vanished). The
 * first one comes from `prefetched` when a prefetcher fetched it ahead.
 */
export function downloadUrl(
  ecr: Ecr,
  repository: string,
  imageDigests: () => string[],
  digest: string,
  prefetched?: UrlPrefetcher,
) {
  let url: string | undefined;
  return async (fresh: boolean, signal?: AbortSignal): Promise<string> => {
    if (!url && !fresh) url = await prefetched?.take(digest);
    if (!url || fresh) {
      const out = await ecr
        .request(
          'GetDownloadUrlForLayer',
          ecr.withRegistry({ repositoryName: repository, layerDigest: digest }),
          `Getting a download URL for ${digest} in ${repository}`,
          { signal },
        )
        .catch(async (err) => {
          throw await inaccessibleLayerError(ecr, repository, imageDigests(), err, signal);
        });
      url = out.downloadUrl ?? '';
    }
    return url;
  };
}

export interface EcrFillOptions {
  signal?: AbortSignal;
  events: TransferEvents;
  /** Bytes newly downloaded, summed over blobs. */
  onBytes?: (delta: number) => void;
  /** Told the temporary file and its verified-in-order prefix, for an upload that streams it. */
  growing?: GrowingWriter;
}

/**
 * ECR as an ImageSource: BatchGetImage resolves (verified bytes, platform chosen from an index), a blob is opened
 * through GetDownloadUrlForLayer and a GET of its pre-signed URL (ranged when asked; a URL that expired is asked
 * for again once), and fill() puts a blob into a store through downloadToCache (its own URL refresh, retries and
 * resume), which is what cached() uses.
 */
export class EcrSource implements ImageSource {
  readonly name: string;
  readonly ranged = true;
  /** Bytes downloaded by fill(), summed. */
  bytesDownloaded = 0;
  private images: string[] = [];
  registryId?: string;

  constructor(
    private readonly ecr: Ecr,
    readonly ref: ImageRef,
  ) {
    this.name = formatReference(ref);
  }

  async resolve(o: { platform?: string; signal?: AbortSignal }): Promise<SourceResolved> {
    const resolved = await resolveFromEcr(this.ecr, this.ref, o.platform, o.signal);
    this.images = resolved.set.images.map((i) => i.digest);
    this.registryId = resolved.registryId;
    return { set: resolved.set, platform: resolved.platform };
  }

  private prefetcher?: UrlPrefetcher;

  private url(digest: string) {
    return downloadUrl(this.ecr, this.ref.repository, () => this.images, digest, this.prefetcher);
  }

  /** Download URLs for these blobs are asked for ahead, as many at once as the run has connections. */
  willNeed(ds: Descriptor[], o: { signal?: AbortSignal }): void {
    const connections = runBudget().ceiling;
    this.prefetcher ??= new UrlPrefetcher({
      fetch: (digest, signal) => this.fetchUrl(digest, signal),
      concurrency: connections,
      window: 2 * connections,
    });
    this.prefetcher.want(
      ds.map((d) => d.digest),
      o.signal,
    );
  }

  private async fetchUrl(digest: string, signal?: AbortSignal): Promise<string> {
    const out = await this.ecr.request(
      'GetDownloadUrlForLayer',
      this.ecr.withRegistry({ repositoryName: this.ref.repository, layerDigest: digest }),
      `Getting a download URL for ${digest} in ${this.ref.repository}`,
      { signal },
    );
    if (!out.downloadUrl) throw new Error('no downloadUrl');
    return out.downloadUrl;
  }

  async openBlob(d: Descriptor, o: { range?: BlobRange; signal?: AbortSignal }): Promise<OpenedBlob> {
    const url = this.url(d.digest);
    const offset = o.range?.offset ?? 0;
    const end = o.range?.length !== undefined ? offset + o.range.length - 1 : '';
    const headers: Record<string, string> = o.range ? { Range: `bytes=${offset}-${end}` } : {};
    for (let fresh = false; ; fresh = true) {
      const res = await httpGet(await url(fresh, o.signal), { headers, signal: o.signal });
      if (res.statusCode === 206) return { body: res, offset };
      if (res.statusCode === 200) return { body: res, offset: 0 };
      const body = await readSmallBody(res).catch(() => '');
      // S3 answers 403 for a pre-signed URL past its expiry: one new URL, then the failure stands.
      if (res.statusCode === 403 && !fresh) continue;
      throw new EcrxError('SERVICE_ERROR', `Downloading ${d.digest} from ${this.name} failed: HTTP ${res.statusCode}`, {
        details: { status: res.statusCode, body: body.slice(0, 200) },
      });
    }
  }

  async fill(d: Descriptor, store: BlobStore, o: EcrFillOptions): Promise<IngestResult> {
    const url = this.url(d.digest);
    let last = 0;
    const r = await downloadToCache({
      digest: d.digest,
      size: d.size,
      cache: store,
      signal: o.signal,
      maxStalled: this.ecr.maxAttempts,
      getUrl: (fresh) => url(fresh, o.signal),
      growing: o.growing,
      onProgress: (bytes) => {
        o.onBytes?.(bytes - last);
        last = bytes;
        o.events.blobProgress(d.digest, bytes);
      },
      onRetry: (reason) => o.events.retry(shortDigest(d.digest), reason),
    });
    this.bytesDownloaded += r.downloadedBytes;
    return r;
  }
}
