/** Pushing built images through a RegistrySink and reading them back through a RegistrySource, for the tests. */
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import type { BuiltBlob, BuiltImage } from '../../src/oci/build.js';
import { collectBlobs, type ImageEntry, type ImageSet } from '../../src/oci/image-set.js';
import type { RegistrySink } from '../../src/sinks/registry.js';
import type { RegistrySource } from '../../src/sources/registry.js';
import { noEvents } from '../../src/engine/events.js';
import type { SinkResult } from '../../src/sinks/sink.js';

export function imageSet(images: BuiltImage[], index?: BuiltBlob): ImageSet {
  const entries: ImageEntry[] = images.map((img) => ({
    digest: img.manifest.digest,
    mediaType: img.manifest.mediaType,
    bytes: img.manifest.bytes,
    manifest: JSON.parse(img.manifest.bytes.toString('utf8')),
    platform: img.platform,
  }));
  const top = index ?? images[0].manifest;
  const topBlob = { digest: top.digest, mediaType: top.mediaType, bytes: top.bytes };
  return {
    top: topBlob,
    images: entries,
    manifests: index ? [topBlob, ...entries] : [entries[0]],
    blobs: collectBlobs(entries),
  };
}

export function blobBytes(images: BuiltImage[]): Map<string, Buffer> {
  const m = new Map<string, Buffer>();
  for (const img of images) for (const b of [img.config, ...img.layers]) m.set(b.digest, b.bytes);
  return m;
}

/** What the engine would do: ask what is missing, write it, write the manifests. */
export async function pushThrough(
  sink: RegistrySink,
  images: BuiltImage[],
  tags: string[],
  index?: BuiltBlob,
): Promise<SinkResult & { written: string[] }> {
  const set = imageSet(images, index);
  const bytes = blobBytes(images);
  const missing = await sink.missing(set.blobs);
  for (const d of missing) {
    const body = bytes.get(d.digest)!;
    await sink.writeBlob(
      { descriptor: d, open: (offset) => Readable.from([body.subarray(offset)]), verified: Promise.resolve() },
      noEvents,
    );
  }
  const result = await sink.writeImage(set, tags);
  return { ...result, written: missing.map((d) => d.digest) };
}

export async function readAll(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Every blob of the resolved image, read through the source and hashed: returns digest -> computed digest. */
export async function readBack(source: RegistrySource, platform?: string) {
  const resolved = await source.resolve({ platform });
  const computed = new Map<string, string>();
  for (const d of resolved.set.blobs) {
    const opened = await source.openBlob(d, {});
    computed.set(d.digest, sha(await readAll(opened.body)));
  }
  return { resolved, computed };
}
