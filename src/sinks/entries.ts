/**
 * An image as a list of files (path, and bytes or a cached blob to copy and check against its digest), so that one
 * description of a layout can be written as a directory or as a tar without writing it twice.
 */
import type { BlobCache } from '../store/blob-cache.js';
import type { Descriptor } from '../oci/manifest.js';
import type { ImageSet } from '../oci/image-set.js';
import { MediaType } from '../oci/media-types.js';

export type Entry = { path: string; bytes: Buffer } | BlobEntry;

/** A blob taken from the cache: written only when its bytes still hash to `digest`. */
export interface BlobEntry {
  path: string;
  digest: string;
  size: number;
  cache: BlobCache;
  /** Verified by this very run as it entered the store: a directory takes a plain copy, not a second hash. */
  verifiedNow?: boolean;
}

export const blobPath = (digest: string) => `blobs/sha256/${digest.slice(7)}`;

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

export interface LayoutOptions {
  /** The org.opencontainers.image.ref.name annotation (a tag). */
  refName?: string;
  /** Extra annotations on the index.json descriptor (e.g. io.containerd.image.name). */
  annotations?: Record<string, string>;
}

/** An OCI image layout: oci-layout, index.json, and every manifest and blob under blobs/sha256. */
export function ociLayoutEntries(set: ImageSet, cache: BlobCache, opts: LayoutOptions = {}): Entry[] {
  const annotations = {
    ...(opts.annotations ?? {}),
    ...(opts.refName ? { 'org.opencontainers.image.ref.name': opts.refName } : {}),
  };
  const topDescriptor: Descriptor = {
    mediaType: set.top.mediaType,
    digest: set.top.digest,
    size: set.top.bytes.length,
    ...(Object.keys(annotations).length ? { annotations } : {}),
  };
  const index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [topDescriptor] };
  const entries: Entry[] = [{ path: 'oci-layout', bytes: json({ imageLayoutVersion: '1.0.0' }) }];
  const seen = new Set<string>();
  for (const d of set.blobs) {
    if (seen.has(d.digest)) continue;
    seen.add(d.digest);
    entries.push({ path: blobPath(d.digest), digest: d.digest, size: d.size, cache });
  }
  for (const m of set.manifests) {
    if (seen.has(m.digest)) continue;
    seen.add(m.digest);
    entries.push({ path: blobPath(m.digest), bytes: m.bytes });
  }
  entries.push({ path: 'index.json', bytes: json(index) });
  return entries;
}

/**
 * A docker-archive in Docker 25+'s shape: the OCI layout plus manifest.json and repositories, which `docker load`
 * and `podman load` read. Layers stay as they are in the registry (compressed); both loaders detect that.
 */
export function dockerArchiveEntries(set: ImageSet, cache: BlobCache, repoTags: string[]): Entry[] {
  if (set.images.length !== 1 || set.top.digest !== set.images[0].digest) {
    throw new Error('a docker-archive holds exactly one image manifest');
  }
  const image = set.images[0];
  const imageName = repoTags[0];
  const entries = ociLayoutEntries(set, cache, {
    refName: imageName ? imageName.slice(imageName.lastIndexOf(':') + 1) : undefined,
    annotations: imageName ? { 'io.containerd.image.name': imageName } : undefined,
  });
  const manifestJson = [
    {
      Config: blobPath(image.manifest.config.digest),
      RepoTags: repoTags,
      Layers: image.manifest.layers.map((l) => blobPath(l.digest)),
    },
  ];
  const repositories: Record<string, Record<string, string>> = {};
  const lastLayer = image.manifest.layers.at(-1);
  for (const t of repoTags) {
    const colon = t.lastIndexOf(':');
    (repositories[t.slice(0, colon)] ??= {})[t.slice(colon + 1)] = (
      lastLayer?.digest ?? image.manifest.config.digest
    ).slice(7);
  }
  const at = entries.findIndex((e) => e.path === 'index.json');
  entries.splice(
    at,
    0,
    { path: 'manifest.json', bytes: json(manifestJson) },
    { path: 'repositories', bytes: json(repositories) },
  );
  return entries;
}
