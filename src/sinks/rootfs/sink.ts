/**
 * The rootfs export as an ImageSink: the image's layers applied in order (OCI whiteouts) into a work directory the
 * caller owns, then placed as a directory, a tar file, or a tar on a stream. Layers are taken from local files
 * (export runs over cached(): each blob is already in the store, verified), so writeBlob only records where.
 */
import { promises as fsp, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { EcrxError } from '../../core/errors.js';
import type { Descriptor } from '../../oci/manifest.js';
import type { ImageSet } from '../../oci/image-set.js';
import type { TransferEvents } from '../../engine/events.js';
import type { BlobInput, BlobWritten, ImageSink, SinkResult } from '../sink.js';
import { tarToStream } from './export.js';
import { applyLayers } from './flatten.js';
import { tarTree } from './tar-tree.js';
import { placeDirectory, placeTar, type Target } from './target.js';

export interface RootfsSinkOptions {
  /** Where a `-` target's tar goes (stdout). */
  stream?: Writable;
  /** Phases and notices of writeImage (a layer entry skipped, the layers being applied). */
  events?: Pick<TransferEvents, 'phase' | 'notice'>;
}

export class RootfsSink implements ImageSink {
  readonly name: string;
  private readonly files = new Map<string, string>();
  /** The reader of the stream went away (`| head`): a normal end of a pipeline. */
  streamClosed = false;

  constructor(
    private readonly target: Target,
    private readonly work: string,
    private readonly opts: RootfsSinkOptions = {},
  ) {
    this.name = target.kind === 'stdout' ? 'the tar on stdout' : target.path;
  }

  check(set: ImageSet): void {
    if (set.images.length !== 1)
      throw new EcrxError('VALIDATION_ERROR', 'export flattens one platform; give --platform os/arch or leave it out');
  }

  async missing(blobs: Descriptor[]): Promise<Descriptor[]> {
    return blobs;
  }

  async writeBlob(input: BlobInput): Promise<BlobWritten> {
    if (!input.path)
      throw new EcrxError('SERVICE_ERROR', `${this.name}: blob ${input.descriptor.digest} has no local file to apply`);
    this.files.set(input.descriptor.digest, input.path);
    return { bytes: 0 };
  }

  async writeImage(set: ImageSet, _tags: string[], signal?: AbortSignal): Promise<SinkResult> {
    const image = set.images[0];
    this.opts.events?.phase(`applying ${image.manifest.layers.length} layers`);
    const rootfs = join(this.work, 'rootfs');
    await fsp.mkdir(rootfs);
    const layers = image.manifest.layers.map((l) => ({
      digest: l.digest,
      size: l.size,
      path: this.files.get(l.digest)!,
    }));
    const meta = await applyLayers(rootfs, layers, {
      notice: (t) => this.opts.events?.notice(t),
      signal,
      applyMetadata: this.target.kind === 'dir',
    });
    const result = { target: this.target.kind === 'stdout' ? '-' : this.target.path, digest: image.digest };
    if (this.target.kind === 'stdout') {
      this.streamClosed = await tarToStream(rootfs, this.opts.stream!, meta);
      return result;
    }
    if (this.target.kind === 'tar') {
      const file = join(this.work, 'rootfs.tar');
      await tarTree(rootfs, createWriteStream(file), meta);
      await placeTar(file, this.target.path);
    } else {
      await placeDirectory(rootfs, this.target.path);
    }
    return result;
  }

  /** The work directory is the caller's, removed by it; the target is only ever placed by a complete writeImage. */
  async abort(): Promise<void> {}
}
