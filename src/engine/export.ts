/**
 * Export: the flattened root filesystem of an image, as a directory or a tar (file or stream), built in a work
 * directory the caller owns. Emits events and returns what it did; never prints.
 */
import { promises as fsp, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { formatReference, type ImageRef } from '../core/reference.js';
import type { Ecr } from '../ecr/client.js';
import type { BlobCache } from '../store/blob-cache.js';
import { resolveFromEcr } from '../sources/ecr.js';
import type { Descriptor } from '../oci/manifest.js';
import { applyLayers } from '../sinks/rootfs/flatten.js';
import { tarToStream } from '../sinks/rootfs/export.js';
import { tarTree } from '../sinks/rootfs/tar-tree.js';
import { placeDirectory, placeTar, type Target } from '../sinks/rootfs/target.js';
import { fetchBlobs } from './fetch-blobs.js';
import { configPlatform, configToCheckFirst } from './platform-check.js';
import type { TransferEvents } from './events.js';

export interface ExportOptions {
  ecr: Ecr;
  ref: ImageRef;
  target: Target;
  /** An empty directory beside the target (or in TMPDIR for a stream): only ecrx writes there. */
  work: string;
  stream?: Writable;
  platform?: string;
  concurrency: number;
  cache: BlobCache;
  events: TransferEvents;
  signal: AbortSignal;
}

export interface ExportResult {
  digest: string;
  platform?: string;
  layers: number;
  /** The reader of the stream went away (`| head`): a normal end of a pipeline. */
  streamClosed: boolean;
}

export async function exportRootfs(o: ExportOptions): Promise<ExportResult> {
  const { ecr, ref, target, cache, events, signal } = o;
  events.phase(`resolving ${formatReference(ref)}`);
  const resolved = await resolveFromEcr(ecr, ref, o.platform, signal);
  const image = resolved.set.images[0];
  const fetch = (blobs: Descriptor[]) =>
    fetchBlobs({
      ecr,
      repository: ref.repository,
      blobs,
      images: resolved.set.images,
      cache,
      concurrency: o.concurrency,
      reporter: events,
      signal,
    });
  // The platform rule every command follows: a single-platform image's config is checked before any layer moves.
  const checkFirst = configToCheckFirst(resolved.set, resolved.platform, o.platform);
  await fetch(checkFirst);
  const platform = checkFirst.length
    ? await configPlatform(resolved.set, cache, o.platform, formatReference(ref))
    : resolved.platform;
  await fetch(resolved.set.blobs.filter((b) => !checkFirst.includes(b)));
  events.phase(`applying ${image.manifest.layers.length} layers`);
  const rootfs = join(o.work, 'rootfs');
  await fsp.mkdir(rootfs);
  const layers = image.manifest.layers.map((l) => ({ digest: l.digest, size: l.size, path: cache.path(l.digest) }));
  const meta = await applyLayers(rootfs, layers, {
    notice: (t) => events.notice(t),
    signal,
    applyMetadata: target.kind === 'dir',
  });
  const result = { digest: image.digest, platform, layers: layers.length, streamClosed: false };
  if (target.kind === 'stdout') return { ...result, streamClosed: await tarToStream(rootfs, o.stream!, meta) };
  if (target.kind === 'tar') {
    const file = join(o.work, 'rootfs.tar');
    await tarTree(rootfs, createWriteStream(file), meta);
    await placeTar(file, target.path);
  } else {
    await placeDirectory(rootfs, target.path);
  }
  return result;
}
