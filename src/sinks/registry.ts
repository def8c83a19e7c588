/**
 * Writing an image into an OCI distribution registry: HEAD for each blob (the registry may have it), the missing
 * ones uploaded (POST, PATCH, then the committing PUT only once the engine says the bytes are verified), then the
 * manifests PUT with their exact bytes: an index's children by digest first, then the top under each tag.
 */
import { checkManifestBytes } from '../oci/limits.js';
import type { ImageSet, ManifestBlob } from '../oci/image-set.js';
import type { Descriptor } from '../oci/manifest.js';
import { RegistryClient, pushScope, type RegistryClientOptions } from '../registry/client.js';
import { formatRegistryReference, parseRegistryReference, type RegistryRef } from '../registry/reference.js';
import { cancelUpload, uploadBlob } from '../registry/upload.js';
import type { BlobInput, BlobWritten, ImageSink, SinkResult } from './sink.js';

/** The engine's events, named through the contract so this file does not import the engine (a higher layer). */
type TransferEvents = Parameters<ImageSink['writeBlob']>[1];

export type RegistrySinkOptions = Omit<RegistryClientOptions, 'registry'> & {
  /** HEAD requests at once for missing(). Default 8. */
  concurrency?: number;
};

export class RegistrySink implements ImageSink {
  readonly name: string;
  /** Upload sessions opened and not committed: abort() cancels them. */
  private readonly sessions = new Map<string, URL>();
  private readonly concurrency: number;

  constructor(
    readonly ref: RegistryRef,
    readonly client: RegistryClient,
    opts: { concurrency?: number } = {},
  ) {
    this.name = `registry ${formatRegistryReference(ref)}`;
    this.concurrency = Math.max(1, opts.concurrency ?? 8);
  }

  /** A sink for a reference as typed (`localhost:5000/mirror/alpine:3.20`); its tag is the default tag to write. */
  static open(reference: string, opts: RegistrySinkOptions = {}): RegistrySink {
    const ref = parseRegistryReference(reference, { defaultTag: false });
    return new RegistrySink(ref, new RegistryClient({ ...opts, registry: ref.registry }), opts);
  }

  async missing(blobs: Descriptor[], signal?: AbortSignal): Promise<Descriptor[]> {
    const { default: pLimit } = await import('p-limit');
    const limit = pLimit(this.concurrency);
    const scope = pushScope(this.ref.repository);
    const have = await Promise.all(
      blobs.map((b) => limit(() => this.client.hasBlob(this.ref.repository, b.digest, signal, scope))),
    );
    return blobs.filter((_, i) => !have[i]);
  }

  async writeBlob(input: BlobInput, events: TransferEvents, signal?: AbortSignal): Promise<BlobWritten> {
    const { digest, size } = input.descriptor;
    const key = `${digest}#${Math.random()}`;
    try {
      const { bytes } = await uploadBlob(
        this.client,
        this.ref.repository,
        { digest, size, open: (offset, s) => input.open(offset, s ?? signal), verified: input.verified },
        {
          signal,
          onProgress: (n) => events.blobProgress(digest, n),
          onRetry: (reason) => events.retry(digest, reason),
          onSession: (url) => (url ? this.sessions.set(key, url) : this.sessions.delete(key)),
        },
      );
      return { bytes };
    } catch (err) {
      const session = this.sessions.get(key);
      this.sessions.delete(key);
      if (session) await cancelUpload(this.client, this.ref.repository, session);
      throw err;
    }
  }

  async writeImage(set: ImageSet, tags: string[], signal?: AbortSignal): Promise<SinkResult> {
    const repo = this.ref.repository;
    // What the registry will refuse is refused before the first PUT.
    for (const m of set.manifests) checkManifestBytes(m.bytes, `The manifest ${m.digest}`);
    // An index's children go first, by digest: a registry may refuse an index whose children it lacks.
    for (const m of set.manifests) if (m.digest !== set.top.digest) await this.putUnlessThere(m, m.digest, signal);
    const wanted = tags.length ? tags : this.ref.tag ? [this.ref.tag] : [];
    if (wanted.length === 0) await this.putUnlessThere(set.top, set.top.digest, signal);
    for (const tag of wanted) await this.putUnlessThere(set.top, tag, signal);
    const target = formatRegistryReference({ registry: this.ref.registry, repository: repo, tag: wanted[0] });
    return { target, digest: set.top.digest };
  }

  /**
   * PUTs a manifest unless the reference already names exactly it (a HEAD), so a re-run writes nothing. A registry
   * that answers the HEAD without a digest gets the PUT.
   */
  private async putUnlessThere(m: ManifestBlob, reference: string, signal?: AbortSignal): Promise<void> {
    const repo = this.ref.repository;
    const there = await this.client.headManifest(repo, reference, signal, pushScope(repo));
    if (there?.digest === m.digest) return;
    await this.client.putManifest(repo, reference, m.bytes, m.mediaType, signal);
  }

  async abort(): Promise<void> {
    const open = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(open.map((s) => cancelUpload(this.client, this.ref.repository, s)));
  }

  close(): void {
    this.client.close();
  }
}
