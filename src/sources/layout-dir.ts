/**
 * Reading the layouts `ecrx sync --to-dir` wrote (sinks/layout-dir.ts), for `ecrx sync --from-dir` on the
 * disconnected side: an image by its tag (ref name) or by digest, its tags, and the referrers listed beside it.
 * A blob is hashed before it is handed over (prepare), then given to the sink as its file, so the source is trusted.
 */
import { createReadStream, promises as fsp, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileDigest } from '../core/digest.js';
import { EcrxError } from '../core/errors.js';
import type { Descriptor } from '../oci/manifest.js';
import { isReferrerDescriptor, SUBJECT_ANNOTATION } from '../oci/referrer-descriptor.js';
import { layoutEntries, REF_NAME } from '../sinks/layout-dir.js';
import { readLayoutImage, type BlobReader } from './oci-layout.js';
import type { BlobRange, ImageSource, OpenedBlob, ResolvedImage } from './source.js';

const blobFile = (dir: string, digest: string) => join(dir, 'blobs', 'sha256', digest.slice(7));

function reader(dir: string): BlobReader {
  return {
    path: (d) => (statSync(blobFile(dir, d), { throwIfNoEntry: false })?.isFile() ? blobFile(dir, d) : undefined),
    size: (d) => statSync(blobFile(dir, d), { throwIfNoEntry: false })?.size,
    read: (d) => fsp.readFile(blobFile(dir, d)),
  };
}

/** The tags (ref names) of the images in a layout; none when there is no layout. */
export async function layoutTags(dir: string): Promise<string[]> {
  return (await layoutEntries(dir))
    .filter((e) => !isReferrerDescriptor(e))
    .flatMap((e) => (e.annotations?.[REF_NAME] ? [e.annotations[REF_NAME]] : []));
}

/** The referrers of `subjects` listed in the layout, recursively, subjects first. */
export async function layoutReferrers(dir: string, subjects: string[]): Promise<{ digest: string }[]> {
  const entries = await layoutEntries(dir);
  const seen = new Set(subjects);
  const found: { digest: string }[] = [];
  for (let level = [...seen]; level.length;) {
    const next = entries
      .filter((e) => level.includes(e.annotations?.[SUBJECT_ANNOTATION] ?? '') && !seen.has(e.digest))
      .map((e) => e.digest);
    for (const d of new Set(next)) {
      seen.add(d);
      found.push({ digest: d });
    }
    level = [...new Set(next)];
  }
  return found;
}

/** An image of the layout at `dir`, by tag or by digest; `where` names it in messages (the source it came from). */
export function layoutDirSource(dir: string, pick: { tag?: string; digest?: string }, where: string): ImageSource {
  const checked = new Map<string, Promise<void>>();
  return {
    name: where,
    ranged: false,
    trusted: true,
    async resolve(o: { platform?: string }): Promise<ResolvedImage> {
      const entries = await layoutEntries(dir);
      const entry = pick.tag
        ? entries.find((e) => e.annotations?.[REF_NAME] === pick.tag)
        : entries.find((e) => e.digest === pick.digest);
      if (!entry)
        throw new EcrxError('IMAGE_NOT_FOUND', `${where} is not in ${dir}`, {
          hint: 'Carry over the directory a connected `ecrx sync PLAN --to-dir DIR` wrote with the same plan.',
        });
      // The one entry, bare: a referrer's entry is picked as any image is.
      const { mediaType, digest, size } = entry;
      const index = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType, digest, size }] }));
      const { set, platform } = await readLayoutImage(reader(dir), index, dir, { platform: o.platform });
      return { set, platform };
    },
    async openBlob(d: Descriptor, o: { range?: BlobRange }): Promise<OpenedBlob> {
      const start = o.range?.offset ?? 0;
      const end = o.range?.length !== undefined ? start + o.range.length - 1 : undefined;
      return { body: createReadStream(blobFile(dir, d.digest), { start, end, highWaterMark: 1 << 20 }), offset: start };
    },
    // A file carried across an air gap may have been damaged: hashed once before it is handed over.
    prepare(d, o) {
      let p = checked.get(d.digest);
      if (!p) {
        p = fileDigest(blobFile(dir, d.digest), o.signal).then((actual) => {
          if (actual !== d.digest)
            throw new EcrxError('DIGEST_MISMATCH', `${blobFile(dir, d.digest)} does not match its digest`, {
              details: { expected: d.digest, actual },
              hint: 'Copy the directory across again, or rerun the connected side to rewrite it.',
            });
        });
        checked.set(d.digest, p);
        p.catch(() => checked.delete(d.digest));
      }
      return p;
    },
    localPath: (digest) => blobFile(dir, digest),
  };
}
