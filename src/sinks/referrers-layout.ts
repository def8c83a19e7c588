/**
 * Referrers written into an OCI layout beside their image, the way containerd exports them: each manifest and blob
 * under blobs/sha256, and an index.json entry with its artifactType and the `io.containerd.manifest.subject`
 * annotation, so `ecrx push --referrers` (and oras) find them again and a plain push still picks the image.
 */
import type { BlobCache } from '../store/blob-cache.js';
import type { ImageSet } from '../oci/image-set.js';
import { SUBJECT_ANNOTATION } from '../oci/referrer-descriptor.js';
import { blobPath, type Entry } from './entries.js';

export interface LayoutReferrerInput {
  subject: string;
  artifactType: string | null;
  set: ImageSet;
}

export function withReferrers(entries: Entry[], referrers: LayoutReferrerInput[], cache: BlobCache): Entry[] {
  if (!referrers.length) return entries;
  const at = entries.findIndex((e) => e.path === 'index.json');
  const indexEntry = entries[at] as { path: string; bytes: Buffer };
  const index = JSON.parse(indexEntry.bytes.toString('utf8'));
  const have = new Set(entries.map((e) => e.path));
  const added: Entry[] = [];
  const add = (e: Entry) => {
    if (have.has(e.path)) return;
    have.add(e.path);
    added.push(e);
  };
  for (const r of referrers) {
    for (const d of r.set.blobs) add({ path: blobPath(d.digest), digest: d.digest, size: d.size, cache });
    for (const m of r.set.manifests) add({ path: blobPath(m.digest), bytes: m.bytes });
    index.manifests.push({
      mediaType: r.set.top.mediaType,
      digest: r.set.top.digest,
      size: r.set.top.bytes.length,
      ...(r.artifactType ? { artifactType: r.artifactType } : {}),
      annotations: { [SUBJECT_ANNOTATION]: r.subject },
    });
  }
  return [
    ...entries.slice(0, at),
    ...added,
    { path: 'index.json', bytes: Buffer.from(JSON.stringify(index)) },
    ...entries.slice(at + 1),
  ];
}
