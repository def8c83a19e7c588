/**
 * Reading an image from an OCI distribution registry: the manifest GET (verified by digest in the client), the
 * platform chosen from an index as for ECR, the chosen children fetched by digest and checked against the index's
 * sizes, and blobs opened with ranged GETs (redirects to blob storage followed without credentials).
 */
import { shortDigest } from '../core/digest.js';
import { EcrxError } from '../core/errors.js';
import type { BlobStore } from '../store/blob-store.js';
import { ingest, type IngestResult } from '../store/ingest.js';
import type { TransferEvents } from '../engine/events.js';
import { collectBlobs, type ImageEntry, type ManifestBlob } from '../oci/image-set.js';
import { parseManifest, type Descriptor } from '../oci/manifest.js';
import { RegistryClient, type RegistryClientOptions } from '../registry/client.js';
import { formatRegistryReference, parseRegistryReference, type RegistryRef } from '../registry/reference.js';
import { selectPlatform } from './select-platform.js';
import type { BlobRange, ImageSource, OpenedBlob, ResolvedImage } from './source.js';

export type RegistrySourceOptions = Omit<RegistryClientOptions, 'registry'>;

export class RegistrySource implements ImageSource {
  readonly name: string;
  readonly ranged = true;

  constructor(
    readonly ref: RegistryRef,
    readonly client: RegistryClient,
  ) {
    this.name = `registry ${formatRegistryReference(ref)}`;
  }

  /** A source for a reference as typed (`alpine`, `ghcr.io/org/app:1.4`, `localhost:5000/x@sha256:...`). */
  static open(reference: string, opts: RegistrySourceOptions = {}): RegistrySource {
    const ref = parseRegistryReference(reference);
    return new RegistrySource(ref, new RegistryClient({ ...opts, registry: ref.registry }));
  }

  async resolve(opts: { platform?: string; signal?: AbortSignal }): Promise<ResolvedImage> {
    const { ref, client } = this;
    const root = await client.getManifest(ref.repository, ref.digest ?? ref.tag!, opts.signal);
    const parsed = parseManifest(root.bytes, root.mediaType || undefined);
    const top: ManifestBlob = { digest: root.digest, mediaType: parsed.mediaType, bytes: root.bytes };
    if (parsed.kind === 'manifest') {
      const images: ImageEntry[] = [{ ...top, manifest: parsed.manifest }];
      return { set: { top, images, manifests: [top], blobs: collectBlobs(images) } };
    }
    const { chosen, label } = selectPlatform(parsed.index.manifests, opts.platform, formatRegistryReference(ref));
    const images = await Promise.all(chosen.map((d) => this.child(d, opts.signal)));
    const all = opts.platform === 'all';
    const first: ManifestBlob = { digest: images[0].digest, mediaType: images[0].mediaType, bytes: images[0].bytes };
    return {
      set: {
        top: all ? top : first,
        images,
        manifests: all ? [top, ...images] : [images[0]],
        blobs: collectBlobs(images),
      },
      platform: label,
    };
  }

  private async child(d: Descriptor, signal?: AbortSignal): Promise<ImageEntry> {
    const got = await this.client.getManifest(this.ref.repository, d.digest, signal);
    if (got.bytes.length !== d.size)
      throw new EcrxError(
        'SIZE_MISMATCH',
        `Manifest ${d.digest} is ${got.bytes.length} bytes but the index of ${formatRegistryReference(this.ref)} says ${d.size}`,
        { details: { expectedSize: d.size, actualSize: got.bytes.length } },
      );
    const parsed = parseManifest(got.bytes, d.mediaType);
    if (parsed.kind !== 'manifest')
      throw new EcrxError(
        'INVALID_IMAGE',
        `${d.digest} in the index of ${formatRegistryReference(this.ref)} is itself an index; nested indexes are not supported`,
      );
    return {
      digest: d.digest,
      mediaType: parsed.mediaType,
      bytes: got.bytes,
      manifest: parsed.manifest,
      platform: d.platform,
    };
  }

  openBlob(d: Descriptor, opts: { range?: BlobRange; signal?: AbortSignal }): Promise<OpenedBlob> {
    return this.client.getBlob(this.ref.repository, d.digest, {
      offset: opts.range?.offset,
      length: opts.range?.length,
      signal: opts.signal,
    });
  }

  /**
   * Puts a blob into `store` (the cache's StoreFiller, engine/cached.ts): streamed to a temporary name in the store,
   * hashed on the way, and committed under its digest only when digest and size match.
   */
  /**
   * Brings a blob into the store through store/ingest.ts: ranges over several connections for a large blob, a cut
   * range resumed, a partial kept for the next run, one process per blob at a time, every byte verified.
   */
  async fill(
    d: Descriptor,
    store: BlobStore,
    opts: { signal?: AbortSignal; events?: Pick<TransferEvents, 'blobProgress' | 'retry'> } = {},
  ): Promise<IngestResult> {
    return ingest({
      digest: d.digest,
      size: d.size,
      cache: store,
      signal: opts.signal,
      open: (range, signal) => this.openBlob(d, { range, signal }),
      onProgress: (bytes) => opts.events?.blobProgress(d.digest, bytes),
      onRetry: (reason) => opts.events?.retry(shortDigest(d.digest), reason),
    });
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
