/**
 * A local image as an ImageSink: an OCI layout directory, an OCI archive or a docker-archive. Blobs are staged,
 * as the engine hands them over, in a store of the sink's own beside the target (same file system, swept like any
 * ecrx temporary when its process is gone); writeImage then builds the output under a temporary name and renames
 * it into place (sinks/write.ts), replacing only a provable earlier ecrx output (sinks/output-target.ts).
 */
import { mkdtempSync, promises as fsp, createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EcrxError } from '../core/errors.js';
import { BlobCache, CorruptBlobError } from '../store/blob-cache.js';
import type { Descriptor } from '../oci/manifest.js';
import type { ImageSet } from '../oci/image-set.js';
import type { TransferEvents } from '../engine/events.js';
import { dockerArchiveEntries, ociLayoutEntries, type Entry } from './entries.js';
import type { OutputPlan } from './output-target.js';
import { withReferrers, type LayoutReferrerInput } from './referrers-layout.js';
import { scratchPrefix } from './temp-names.js';
import { writeDirectory, writeTar, writeTarFile } from './write.js';
import type { BlobInput, BlobWritten, ImageSink, SinkResult } from './sink.js';

export type LocalFormat = 'oci' | 'oci-archive' | 'docker-archive';

export interface LocalSinkOptions {
  /** Called just before an earlier ecrx output at the target is replaced. */
  onReplace?: (target: string, previousFormat: string) => void;
  /**
   * The store the source's blobs already sit in (pull's cache): a blob handed over as that store's file is not
   * staged again, it is copied (or reflinked) from there into the output, hashed on the way, with no second read.
   */
  store?: BlobCache;
  /**
   * Blobs the store received and verified in this very run (not hits from earlier runs): a directory output takes
   * a plain copy of them (the kernel's, or a reflink), without hashing them a second time.
   */
  verifiedNow?: (digest: string) => boolean;
  /** Where a tar goes when there is no plan (stdout). */
  stream?: Writable;
  /**
   * A blob of the store found corrupt while the output was written (already removed): fetch it again and the output
   * is written once more, once per blob. Returns false for a blob it cannot fetch (the error then stands).
   */
  heal?: (err: CorruptBlobError, set: ImageSet) => Promise<boolean>;
  /** Referrers written into the layout beside the image (their blobs in `store`), asked for once the image's blobs are in. */
  referrers?: (set: ImageSet) => Promise<LayoutReferrerInput[]>;
}

/** The tag part of an image name ("alpine:3.20" -> "3.20"; a bare tag stays as it is). */
const tagOf = (name: string) => name.slice(name.lastIndexOf(':') + 1);

export class LocalSink implements ImageSink {
  readonly name: string;
  private staging?: { dir: string; store: BlobCache };
  /** Whether writeImage replaced an earlier ecrx output. */
  replaced = false;

  constructor(
    private readonly plan: OutputPlan | undefined,
    private readonly format: LocalFormat,
    private readonly opts: LocalSinkOptions = {},
  ) {
    this.name = `${format} ${plan?.target ?? 'stdout'}`;
  }

  private store(): BlobCache {
    if (this.opts.store) return this.opts.store;
    if (!this.staging) {
      const dir = mkdtempSync(this.plan ? scratchPrefix(dirname(this.plan.target)) : join(tmpdir(), '.ecrx-stage-'));
      this.staging = { dir, store: new BlobCache(dir) };
    }
    return this.staging.store;
  }

  /** A docker-archive holds one image: an index resolved whole is refused before any blob moves. */
  check(set: ImageSet): void {
    if (this.format === 'docker-archive' && (set.images.length !== 1 || set.top.digest !== set.images[0].digest))
      throw new EcrxError(
        'VALIDATION_ERROR',
        `The image has ${set.images.length} platforms and a docker-archive holds one`,
        {
          hint: 'Pick one with --platform os/arch (e.g. --platform linux/amd64).',
        },
      );
  }

  /** A new output holds nothing yet: every blob is missing. */
  async missing(blobs: Descriptor[]): Promise<Descriptor[]> {
    return blobs;
  }

  async writeBlob(input: BlobInput, events: TransferEvents, signal?: AbortSignal): Promise<BlobWritten> {
    const { digest } = input.descriptor;
    const store = this.store();
    if (input.path && input.path === this.opts.store?.path(digest)) {
      await input.verified;
      return { bytes: 0 };
    }
    const tmp = store.tmpPath(digest.slice(7, 19));
    let bytes = 0;
    const count = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        bytes += chunk.length;
        events.blobProgress(digest, bytes);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(input.open(0, signal), count, createWriteStream(tmp, { flags: 'wx' }), { signal });
      await input.verified;
      await store.commit(tmp, digest);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
    return { bytes };
  }

  async writeImage(set: ImageSet, tags: string[], signal?: AbortSignal): Promise<SinkResult> {
    const store = this.store();
    let entries: Entry[] =
      this.format === 'docker-archive'
        ? dockerArchiveEntries(
            set,
            store,
            tags.filter((t) => t.includes(':')),
          )
        : ociLayoutEntries(set, store, { refName: tags[0] ? tagOf(tags[0]) : undefined });
    if (this.opts.referrers) entries = withReferrers(entries, await this.opts.referrers(set), store);
    const now = this.opts.verifiedNow;
    if (now) entries = entries.map((e) => ('digest' in e && now(e.digest) ? { ...e, verifiedNow: true } : e));
    const opts = { signal, onReplace: this.opts.onReplace };
    const plan = this.plan;
    if (!plan) {
      // A stream cannot be taken back: no second try.
      await writeTar(entries, this.opts.stream ?? process.stdout, { format: this.format, signal });
    } else {
      const written = await this.healing(set, () =>
        plan.kind === 'directory'
          ? writeDirectory(entries, plan, opts)
          : writeTarFile(entries, plan, this.format, opts),
      );
      this.replaced = written.replaced;
    }
    await this.abort();
    return { target: plan?.target ?? '-', digest: set.top.digest };
  }

  /** Runs a write again after opts.heal fetched a blob found corrupt on the way, once per blob. */
  private async healing<T>(set: ImageSet, step: () => Promise<T>): Promise<T> {
    const healed = new Set<string>();
    for (;;) {
      try {
        return await step();
      } catch (err) {
        const again =
          err instanceof CorruptBlobError &&
          this.opts.heal &&
          !healed.has(err.digest) &&
          (healed.add(err.digest), await this.opts.heal(err, set));
        if (!again) throw err;
      }
    }
  }

  /** Removes the staged blobs; the target itself is only ever written by a complete writeImage. */
  async abort(): Promise<void> {
    // opts.store is the caller's (the cache): never removed here.
    if (this.staging) await fsp.rm(this.staging.dir, { recursive: true, force: true });
    this.staging = undefined;
  }
}
