/**
 * Reading an image out of an OCI image layout, wherever its blobs live (a directory, or the cache after an
 * archive was ingested): index.json picks the image (`NAME` by org.opencontainers.image.ref.name, else the only
 * one, else the one named "latest"), an index picks a platform or keeps all.
 */
import { EcrxError } from '../core/errors.js';
import { parseManifest, sha256Digest, type Descriptor } from '../oci/manifest.js';
import { choosePlatform, formatPlatform, parsePlatform, platformOfConfig, requirePlatform } from '../oci/platform.js';
import { collectBlobs, type ImageEntry, type ImageSet, type ManifestBlob } from '../oci/image-set.js';
import { checkDocumentSize, checkManifestBytes, checkManifestSize, MAX_CONFIG_BYTES } from '../oci/limits.js';
import { isReferrerDescriptor } from '../oci/referrer-descriptor.js';

export interface BlobReader {
  /** Where the blob's bytes are, or undefined when it is missing. */
  path(digest: string): string | undefined;
  size(digest: string): number | undefined;
  read(digest: string): Promise<Buffer>;
}

const REF_NAME = 'org.opencontainers.image.ref.name';
const DIGEST = /^sha256:[a-f0-9]{64}$/;

export function parseLayoutIndex(bytes: Buffer, where: string): Descriptor[] {
  let doc: { manifests?: unknown } | null;
  try {
    doc = JSON.parse(bytes.toString('utf8')) as typeof doc;
  } catch {
    throw new EcrxError('INVALID_IMAGE', `${where}/index.json is not valid JSON`);
  }
  if (!Array.isArray(doc?.manifests)) throw new EcrxError('INVALID_IMAGE', `${where}/index.json has no manifests list`);
  return doc.manifests as Descriptor[];
}

function pickDescriptor(manifests: Descriptor[], name: string | undefined, where: string): Descriptor {
  const names = manifests.map((m) => m.annotations?.[REF_NAME]).filter((n): n is string => Boolean(n));
  if (name !== undefined) {
    const found = manifests.find((m) => m.annotations?.[REF_NAME] === name);
    if (!found) {
      throw new EcrxError('IMAGE_NOT_FOUND', `${where} has no image named '${name}'`, {
        hint: names.length ? `It has: ${names.join(', ')}.` : 'Its images carry no names; drop the :NAME suffix.',
      });
    }
    return found;
  }
  // Referrers listed beside the image (as oras, containerd and `ecrx pull --referrers` write them) are not candidates.
  const images = manifests.filter((m) => !isReferrerDescriptor(m));
  if (images.length === 1) return images[0];
  const latest = images.find((m) => m.annotations?.[REF_NAME] === 'latest');
  if (latest) return latest;
  if (images.length === 0) throw new EcrxError('INVALID_IMAGE', `${where} holds no image`);
  throw new EcrxError('VALIDATION_ERROR', `${where} holds ${images.length} images; say which one`, {
    hint: names.length ? `Use ${where}:NAME with one of: ${names.join(', ')}.` : 'Its images carry no names.',
  });
}

/** A manifest or index blob: its digest and size checked first, then read (at most 4 MiB), hashed, UTF-8. */
async function readManifestBlob(reader: BlobReader, d: Descriptor, where: string): Promise<Buffer> {
  // index.json is not checked by parseManifest: a "digest" such as sha256:../../x must never become a path.
  if (typeof d?.digest !== 'string' || !DIGEST.test(d.digest))
    throw new EcrxError('INVALID_IMAGE', `${where}: ${JSON.stringify(d?.digest)} is not a sha256 digest`);
  if (!Number.isSafeInteger(d.size) || d.size < 0)
    throw new EcrxError('INVALID_IMAGE', `${where}: manifest ${d.digest} has no valid size`);
  checkManifestSize(d.size, `${where}: manifest ${d.digest}`);
  const size = reader.size(d.digest);
  if (size === undefined) throw new EcrxError('INVALID_IMAGE', `${where} is missing blob ${d.digest}`);
  if (size !== d.size)
    throw new EcrxError('INVALID_IMAGE', `${where}: blob ${d.digest} is ${size} bytes, the descriptor says ${d.size}`);
  const bytes = await reader.read(d.digest);
  const actual = sha256Digest(bytes);
  if (actual !== d.digest) {
    throw new EcrxError(
      'INVALID_IMAGE',
      `${where}: blob ${d.digest} does not match its digest (it hashes to ${actual})`,
      { details: { expected: d.digest, actual } },
    );
  }
  checkManifestBytes(bytes, `${where}: manifest ${d.digest}`);
  return bytes;
}

export interface LayoutSelection {
  name?: string;
  platform?: string;
}

export async function readLayoutImage(
  reader: BlobReader,
  indexJson: Buffer,
  where: string,
  sel: LayoutSelection,
): Promise<{ set: ImageSet; refName?: string; platform?: string }> {
  const top = pickDescriptor(parseLayoutIndex(indexJson, where), sel.name, where);
  const topBytes = await readManifestBlob(reader, top, where);
  const parsed = parseManifest(topBytes, top.mediaType);
  const topBlob: ManifestBlob = { digest: top.digest, mediaType: parsed.mediaType, bytes: topBytes };
  const refName = top.annotations?.[REF_NAME];
  let images: ImageEntry[];
  let manifests: ManifestBlob[];
  let chosenTop: ManifestBlob = topBlob;
  let platform: string | undefined;
  if (parsed.kind === 'manifest') {
    images = [{ ...topBlob, manifest: parsed.manifest }];
    manifests = [topBlob];
  } else {
    let children = parsed.index.manifests;
    if (sel.platform && sel.platform !== 'all') {
      const want = parsePlatform(sel.platform);
      const i = choosePlatform(
        want,
        children.map((c) => c.platform),
      );
      if (i < 0) {
        const available = children.map((c) => (c.platform ? formatPlatform(c.platform) : 'unknown'));
        throw new EcrxError(
          'PLATFORM_NOT_FOUND',
          `${where} has no image for ${sel.platform}; it has: ${available.join(', ')}`,
          { details: { wanted: sel.platform, available } },
        );
      }
      children = [children[i]];
      platform = formatPlatform(children[0].platform!);
    } else {
      platform = 'all';
    }
    images = [];
    for (const c of children) {
      const bytes = await readManifestBlob(reader, c, where);
      const cp = parseManifest(bytes, c.mediaType);
      if (cp.kind !== 'manifest')
        throw new EcrxError('INVALID_IMAGE', `${where}: nested index ${c.digest} is not supported`);
      images.push({ digest: c.digest, mediaType: cp.mediaType, bytes, manifest: cp.manifest, platform: c.platform });
    }
    if (platform !== 'all') {
      chosenTop = images[0];
      manifests = [images[0]];
    } else {
      manifests = [topBlob, ...images];
    }
  }
  const blobs = collectBlobs(images);
  for (const b of blobs) {
    const size = reader.size(b.digest);
    if (size === undefined)
      throw new EcrxError('INVALID_IMAGE', `${where} is missing blob ${b.digest}`, {
        hint: 'The layout is incomplete; re-create it (e.g. skopeo copy ... oci:DIR).',
      });
    if (size !== b.size)
      throw new EcrxError('INVALID_IMAGE', `${where}: blob ${b.digest} is ${size} bytes, the manifest says ${b.size}`);
  }
  if (parsed.kind === 'manifest' && sel.platform)
    platform = await singlePlatform(reader, images[0], sel.platform, where);
  return {
    set: {
      top: { digest: chosenTop.digest, mediaType: chosenTop.mediaType, bytes: chosenTop.bytes },
      images,
      manifests,
      blobs,
    },
    refName,
    platform,
  };
}

/** A single-platform image held to --platform by its config, as every command does (the config is small). */
async function singlePlatform(
  reader: BlobReader,
  image: ImageEntry,
  wanted: string,
  where: string,
): Promise<string | undefined> {
  const config = image.manifest.config;
  checkDocumentSize(config.size, MAX_CONFIG_BYTES, `${where}: config ${config.digest}`);
  return requirePlatform(wanted, platformOfConfig(await reader.read(config.digest)), where);
}
