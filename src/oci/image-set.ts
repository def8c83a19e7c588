/**
 * What moves between sources and sinks: the manifests (small, held as exact bytes) and the descriptors of the
 * blobs they reference (large, held in the blob cache and streamed). Every sink writes an ImageSet; every source
 * produces one.
 */
import type { Descriptor, ImageManifest } from './manifest.js';
import type { Platform } from './platform.js';

export interface ManifestBlob {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

export interface ImageEntry extends ManifestBlob {
  manifest: ImageManifest;
  platform?: Platform;
}

export interface ImageSet {
  /** What a layout's index.json (or a registry tag) points at: an image manifest, or an index for all platforms. */
  top: ManifestBlob;
  /** Every image manifest in the set (one, or each child of the index). */
  images: ImageEntry[];
  /** Every manifest-like blob to store: the top and, for an index, its children. */
  manifests: ManifestBlob[];
  /** Config and layer blobs, each digest once. */
  blobs: Descriptor[];
}

export function collectBlobs(images: ImageEntry[]): Descriptor[] {
  const seen = new Map<string, Descriptor>();
  for (const img of images) {
    for (const d of [img.manifest.config, ...img.manifest.layers]) if (!seen.has(d.digest)) seen.set(d.digest, d);
  }
  return [...seen.values()];
}

/** "config" or "layer 2/5", for progress lines. */
export function blobLabel(images: ImageEntry[], digest: string): string {
  for (const img of images) {
    if (img.manifest.config.digest === digest) return 'config';
    const i = img.manifest.layers.findIndex((l) => l.digest === digest);
    if (i >= 0) return `layer ${i + 1}/${img.manifest.layers.length}`;
  }
  return 'blob';
}
