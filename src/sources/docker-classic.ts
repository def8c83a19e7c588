/**
 * The classic `docker save` shape: manifest.json naming a config `<hex>.json` and uncompressed `<id>/layer.tar`
 * layers. Layers are compressed with gzip, as `docker push` does, and the uncompressed -> compressed mapping is kept
 * in the cache so that pushing the same image again compresses nothing.
 */
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGzip, createGunzip } from 'node:zlib';
import { EcrxError } from '../core/errors.js';
import type { BlobCache } from '../store/blob-cache.js';
import { HashingStream } from '../core/digest.js';
import { MediaType } from '../oci/media-types.js';
import { sha256Digest, type ImageManifest } from '../oci/manifest.js';
import type { ImageSet } from '../oci/image-set.js';
import { claimArchiveFile, type IngestedArchive } from './archive.js';
import { checkDocumentSize, MAX_CONFIG_BYTES } from '../oci/limits.js';

interface DockerManifestEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

async function isGzip(path: string): Promise<boolean> {
  const fh = await fsp.open(path, 'r');
  try {
    const b = Buffer.alloc(2);
    await fh.read(b, 0, 2, 0);
    return b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/** gzip-compresses a cached blob into the cache; returns the compressed digest and size. */
async function compress(
  cache: BlobCache,
  diffId: string,
  signal?: AbortSignal,
): Promise<{ digest: string; size: number }> {
  const known = await cache.getIndex('gzip', diffId.slice(7));
  if (known) {
    const [digest, sizeText] = known.split(' ');
    if (await cache.hasVerified(digest, Number(sizeText), { signal })) return { digest, size: Number(sizeText) };
  }
  const tmp = cache.tmpPath('gzip');
  const hasher = new HashingStream();
  try {
    await pipeline(
      createReadStream(cache.path(diffId), { highWaterMark: 1 << 20 }),
      createGzip({ level: 6 }),
      hasher,
      createWriteStream(tmp),
      { signal },
    );
    const digest = hasher.digest();
    await cache.commit(tmp, digest);
    await cache.setIndex('gzip', diffId.slice(7), `${digest} ${hasher.bytes}`);
    return { digest, size: hasher.bytes };
  } finally {
    await fsp.rm(tmp, { force: true });
  }
}

async function uncompressedDigest(path: string): Promise<string> {
  const hasher = new HashingStream();
  // The hasher passes its bytes on; the last stage only drains them.
  await pipeline(createReadStream(path), createGunzip(), hasher, async (src: AsyncIterable<Buffer>) => {
    for await (const _ of src) void _;
  });
  return hasher.digest();
}

export function pickDockerEntry(
  entries: DockerManifestEntry[],
  name: string | undefined,
  where: string,
): DockerManifestEntry {
  if (name !== undefined) {
    const found = entries.find((e) =>
      (e.RepoTags ?? []).some((t) => t === name || t.endsWith(`/${name}`) || t.split(':').pop() === name),
    );
    if (!found)
      throw new EcrxError('IMAGE_NOT_FOUND', `${where} has no image tagged '${name}'`, {
        hint: `It has: ${entries.flatMap((e) => e.RepoTags ?? []).join(', ') || 'untagged images only'}.`,
      });
    return found;
  }
  if (entries.length === 1) return entries[0];
  throw new EcrxError('VALIDATION_ERROR', `${where} holds ${entries.length} images; say which one`, {
    hint: `Use ${where}:TAG with one of: ${entries.flatMap((e) => e.RepoTags ?? []).join(', ')}.`,
  });
}

export async function classicDockerImage(
  a: IngestedArchive,
  cache: BlobCache,
  where: string,
  name: string | undefined,
  signal?: AbortSignal,
): Promise<{ set: ImageSet; repoTags: string[] }> {
  let entries: DockerManifestEntry[];
  try {
    entries = JSON.parse(a.files.get('manifest.json')!.toString('utf8'));
    if (!Array.isArray(entries) || entries.some((e) => typeof e?.Config !== 'string' || !Array.isArray(e?.Layers)))
      throw new Error('shape');
  } catch {
    throw new EcrxError('INVALID_IMAGE', `${where}: manifest.json is not a docker-archive manifest`);
  }
  const entry = pickDockerEntry(entries, name, where);
  const configBlob = await claimArchiveFile(a, cache, entry.Config);
  if (!configBlob) throw new EcrxError('INVALID_IMAGE', `${where}: the config ${entry.Config} is missing`);
  // Checked before it is read: the config is the one document here that is parsed whole.
  checkDocumentSize(configBlob.size, MAX_CONFIG_BYTES, `${where}: the config ${entry.Config}`);
  const configBytes = await cache.readBytes(configBlob.digest);
  let config: { rootfs?: { diff_ids?: string[] } } | null;
  try {
    config = JSON.parse(configBytes.toString('utf8')) as typeof config;
  } catch {
    throw new EcrxError('INVALID_IMAGE', `${where}: the config ${entry.Config} is not valid JSON`);
  }
  const diffIds: string[] = config?.rootfs?.diff_ids ?? [];
  if (diffIds.length !== entry.Layers.length) {
    throw new EcrxError(
      'INVALID_IMAGE',
      `${where}: the config lists ${diffIds.length} layers but manifest.json has ${entry.Layers.length}`,
    );
  }
  const configDigest = configBlob.digest;
  const layers = [];
  for (const [i, layerPath] of entry.Layers.entries()) {
    const blob = await claimArchiveFile(a, cache, layerPath);
    if (!blob) throw new EcrxError('INVALID_IMAGE', `${where}: layer ${layerPath} is missing`);
    const gz = await isGzip(cache.path(blob.digest));
    const diffId = gz ? await uncompressedDigest(cache.path(blob.digest)) : blob.digest;
    if (diffId !== diffIds[i]) {
      throw new EcrxError(
        'INVALID_IMAGE',
        `${where}: layer ${layerPath} does not match the config (diff_id ${diffIds[i]}, content ${diffId})`,
        { details: { expected: diffIds[i], actual: diffId } },
      );
    }
    const compressed = gz ? blob : await compress(cache, diffId, signal);
    layers.push({ mediaType: MediaType.dockerLayerGzip, digest: compressed.digest, size: compressed.size });
  }
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.dockerManifest,
    config: { mediaType: MediaType.dockerConfig, digest: configDigest, size: configBytes.length },
    layers,
  };
  const bytes = Buffer.from(JSON.stringify(manifest, null, 3));
  const top = { digest: sha256Digest(bytes), mediaType: MediaType.dockerManifest, bytes };
  return {
    set: { top, images: [{ ...top, manifest }], manifests: [top], blobs: [manifest.config, ...layers] },
    repoTags: entry.RepoTags ?? [],
  };
}
