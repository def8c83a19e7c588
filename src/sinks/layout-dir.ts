/**
 * An OCI image layout that grows image by image, for `ecrx sync --to-dir`: one layout per source repository, each
 * image named by its tag (`org.opencontainers.image.ref.name`, as `skopeo copy … oci:DIR:TAG` and
 * `oras copy --to-oci-layout DIR:TAG` write it), referrers beside their subject (`artifactType` and containerd's
 * subject annotation, as `ecrx pull --referrers` writes them). Blobs are shared by every image of the layout.
 * Every file is written to a temporary name and renamed, blobs only once verified, and index.json last: a run cut
 * off leaves the layout as it was, plus whole blobs. Writers of one layout in this process take turns on index.json.
 */
import { createWriteStream, existsSync, promises as fsp, statSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { tempPathBeside, writeFileAtomic } from '../core/atomic-write.js';
import { sha256Digest } from '../core/digest.js';
import { EcrxError } from '../core/errors.js';
import type { ImageSet } from '../oci/image-set.js';
import type { Descriptor } from '../oci/manifest.js';
import { MediaType } from '../oci/media-types.js';
import { SUBJECT_ANNOTATION } from '../oci/referrer-descriptor.js';
import type { BlobInput, BlobWritten, ImageSink, SinkResult } from './sink.js';

export const REF_NAME = 'org.opencontainers.image.ref.name';

type TransferEvents = Parameters<ImageSink['writeBlob']>[1];
type IndexEntry = Descriptor & { artifactType?: string };

/** index.json's entries, or none for a layout not written yet. */
export async function layoutEntries(dir: string): Promise<IndexEntry[]> {
  let text: string;
  try {
    text = await fsp.readFile(join(dir, 'index.json'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  try {
    const doc = JSON.parse(text) as { manifests?: unknown };
    if (Array.isArray(doc.manifests)) return doc.manifests as IndexEntry[];
  } catch {
    // reported below
  }
  throw new EcrxError('INVALID_IMAGE', `${join(dir, 'index.json')} is not an OCI layout index`, {
    hint: 'Move the directory away, or give --to-dir a directory only ecrx sync writes to.',
  });
}

/** One index.json update at a time per layout, in this process. */
const turns = new Map<string, Promise<unknown>>();
function inTurn<T>(dir: string, task: () => Promise<T>): Promise<T> {
  const run = (turns.get(dir) ?? Promise.resolve()).then(task, task);
  turns.set(
    dir,
    run.catch(() => undefined),
  );
  return run;
}

const blobFile = (dir: string, digest: string) => join(dir, 'blobs', 'sha256', digest.slice(7));

export class LayoutDirSink implements ImageSink {
  readonly name: string;
  private readonly temps = new Set<string>();

  constructor(readonly dir: string) {
    this.name = `layout ${dir}`;
  }

  async missing(blobs: Descriptor[]): Promise<Descriptor[]> {
    return blobs.filter((b) => {
      const st = statSync(blobFile(this.dir, b.digest), { throwIfNoEntry: false });
      return !st || st.size !== b.size;
    });
  }

  async writeBlob(input: BlobInput, _events: TransferEvents, signal?: AbortSignal): Promise<BlobWritten> {
    const { digest, size } = input.descriptor;
    const file = blobFile(this.dir, digest);
    await fsp.mkdir(join(this.dir, 'blobs', 'sha256'), { recursive: true });
    const tmp = tempPathBeside(file);
    this.temps.add(tmp);
    try {
      if (input.path) await fsp.copyFile(input.path, tmp);
      else await pipeline(input.open(0, signal), createWriteStream(tmp, { flags: 'wx' }), { signal });
      // Renamed into place only once every byte was checked against the digest.
      await input.verified;
      await fsp.rename(tmp, file);
    } finally {
      this.temps.delete(tmp);
      await fsp.rm(tmp, { force: true });
    }
    return { bytes: size };
  }

  async writeImage(set: ImageSet, tags: string[]): Promise<SinkResult> {
    await fsp.mkdir(join(this.dir, 'blobs', 'sha256'), { recursive: true });
    for (const m of set.manifests) {
      const file = blobFile(this.dir, m.digest);
      if (sha256Digest(m.bytes) !== m.digest)
        throw new EcrxError('DIGEST_MISMATCH', `The manifest ${m.digest} does not match its bytes`);
      if (!existsSync(file)) await writeFileAtomic(file, m.bytes);
    }
    const top: IndexEntry = { mediaType: set.top.mediaType, digest: set.top.digest, size: set.top.bytes.length };
    await inTurn(this.dir, async () => {
      const entries = await layoutEntries(this.dir);
      let next: IndexEntry[];
      if (tags.length) {
        // A tag names one image: the entry it had before goes.
        next = entries.filter((e) => !tags.includes(e.annotations?.[REF_NAME] ?? ''));
        for (const tag of tags) next.push({ ...top, annotations: { [REF_NAME]: tag } });
      } else {
        next = [...entries];
        if (!entries.some((e) => e.digest === top.digest && !e.annotations?.[REF_NAME]))
          next.push({ ...top, ...referrerFields(set.top.bytes) });
      }
      const layoutFile = join(this.dir, 'oci-layout');
      if (!existsSync(layoutFile))
        await writeFileAtomic(layoutFile, `${JSON.stringify({ imageLayoutVersion: '1.0.0' })}\n`);
      const index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: next };
      const indexFile = join(this.dir, 'index.json');
      await writeFileAtomic(indexFile, `${JSON.stringify(index, null, 2)}\n`);
    });
    return { target: `${this.dir}${tags[0] ? `:${tags[0]}` : `@${set.top.digest}`}`, digest: set.top.digest };
  }

  async abort(): Promise<void> {
    await Promise.all([...this.temps].map((t) => fsp.rm(t, { force: true })));
  }
}

/** A referrer's entry names its subject and artifact type, so readers find it beside the image it refers to. */
function referrerFields(bytes: Buffer): Partial<IndexEntry> {
  try {
    const doc = JSON.parse(bytes.toString('utf8')) as {
      subject?: { digest?: unknown };
      artifactType?: unknown;
      config?: { mediaType?: unknown };
    };
    if (typeof doc.subject?.digest !== 'string') return {};
    const type = typeof doc.artifactType === 'string' ? doc.artifactType : doc.config?.mediaType;
    return {
      ...(typeof type === 'string' ? { artifactType: type } : {}),
      annotations: { [SUBJECT_ANNOTATION]: doc.subject.digest },
    };
  } catch {
    return {};
  }
}
