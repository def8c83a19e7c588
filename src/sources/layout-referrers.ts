/**
 * The referrers an OCI layout holds beside an image, for `ecrx push --referrers`: every index.json entry whose
 * manifest's `subject` is the image (or, recursively, one of its referrers), as oras, containerd and
 * `ecrx pull --referrers` write them; and cosign's `cosign save` signature and attestation images, which predate
 * referrers and live under the tags `sha256-<hex>.sig` and `.att` instead. Each comes back as an ImageSet whose
 * manifests and blob sizes are checked as any pushed image's are.
 */
import { EcrxError } from '../core/errors.js';
import type { Descriptor } from '../oci/manifest.js';
import type { ImageSet } from '../oci/image-set.js';
import { COSIGN_ATTS, COSIGN_KIND, COSIGN_SIGS } from '../oci/referrer-descriptor.js';
import { parseLayoutIndex, readLayoutImage, type BlobReader } from './oci-layout.js';

export interface LayoutReferrer {
  digest: string;
  artifactType: string | null;
  subject: string;
  set: ImageSet;
  /** cosign's tag-based signatures and attestations go under this tag. */
  tag?: string;
}

export interface Layout {
  indexJson: Buffer;
  reader: BlobReader;
  where: string;
}

function subjectOf(bytes: Buffer): { subject?: string; artifactType?: string } {
  try {
    const doc = JSON.parse(bytes.toString('utf8'));
    return {
      subject: typeof doc?.subject?.digest === 'string' ? doc.subject.digest : undefined,
      artifactType: doc?.artifactType ?? doc?.config?.mediaType,
    };
  } catch {
    return {};
  }
}

async function setOf(layout: Layout, d: Descriptor): Promise<ImageSet> {
  // One bare descriptor: readLayoutImage checks it like any image (bytes against digest, blob sizes).
  const single = Buffer.from(
    JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: d.mediaType, digest: d.digest, size: d.size }] }),
  );
  return (await readLayoutImage(layout.reader, single, layout.where, { platform: 'all' })).set;
}

/** `subjects` are the digests already pushed (the image, an index's children); `image` is the top one. */
export async function layoutReferrers(layout: Layout, subjects: string[], image: string): Promise<LayoutReferrer[]> {
  const entries = parseLayoutIndex(layout.indexJson, layout.where).filter((d) => !subjects.includes(d.digest));
  const known = new Set(subjects);
  const found: LayoutReferrer[] = [];
  const pending = new Map<string, { d: Descriptor; subject?: string; artifactType?: string }>();
  for (const d of entries) {
    const kind = d.annotations?.[COSIGN_KIND];
    if (kind === COSIGN_SIGS || kind === COSIGN_ATTS) {
      found.push({
        digest: d.digest,
        artifactType: kind,
        subject: image,
        set: await setOf(layout, d),
        tag: `sha256-${image.slice(7)}.${kind === COSIGN_SIGS ? 'sig' : 'att'}`,
      });
      continue;
    }
    if (layout.reader.size(d.digest) === undefined)
      throw new EcrxError('INVALID_IMAGE', `${layout.where} is missing blob ${d.digest} (listed in index.json)`);
    pending.set(d.digest, { d, ...subjectOf(await layout.reader.read(d.digest)) });
  }
  // Breadth-first, so that a subject is always pushed before what refers to it.
  for (let grew = true; grew;) {
    grew = false;
    for (const [digest, p] of pending) {
      if (!p.subject || !known.has(p.subject)) continue;
      pending.delete(digest);
      known.add(digest);
      found.push({ digest, artifactType: p.artifactType ?? null, subject: p.subject, set: await setOf(layout, p.d) });
      grew = true;
    }
  }
  return found;
}
