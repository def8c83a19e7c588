/**
 * What PutImage reads from a manifest. The media type is the manifest's own `mediaType` or the request's
 * `imageManifestMediaType`; ECR documents that a manifest without `mediaType` needs `imageManifestMediaType`, and
 * answers one with neither as it answers any manifest it cannot read: InvalidParameterException,
 * "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'".
 */
import { invalidParameterAt } from '../api-error.js';
import { isSha256Digest } from '../../core/digest.js';
import { isJsonObject } from '../../oci/manifest.js';
import { MediaType, isIndexMediaType } from '../../oci/media-types.js';

/** The manifest types ECR stores. */
export const storableMediaTypes: readonly string[] = [
  MediaType.ociManifest,
  MediaType.ociIndex,
  MediaType.dockerManifest,
  MediaType.dockerManifestList,
  MediaType.dockerSchema1,
  MediaType.dockerSchema1Signed,
];

/** What the emulator keeps of a manifest (the client's own reading is oci/manifest.ts parseManifest). */
export interface StoredManifestFields {
  mediaType: string;
  artifactMediaType?: string;
  config?: string;
  layers: { digest: string; size: number }[];
  /** Child manifests an index references. */
  children: string[];
}

const unreadable = () => invalidParameterAt('ImageManifest', 'Invalid JSON syntax');

/** ECR's test of a descriptor is looser than the client's: any number is a size. */
function descriptor(d: unknown): { digest: string; size: number } {
  if (!isJsonObject(d) || !isSha256Digest(d.digest) || typeof d.size !== 'number') throw unreadable();
  return { digest: d.digest, size: d.size };
}

/** Reads a manifest as ECR's PutImage does, refusing it with the InvalidParameterException ECR answers. */
export function readPutImageManifest(text: string, declared: string | undefined): StoredManifestFields {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw unreadable();
  }
  if (!isJsonObject(doc)) throw unreadable();
  const inManifest: string | undefined = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  if (declared !== undefined && inManifest !== undefined && declared !== inManifest) {
    throw invalidParameterAt(
      'imageManifestMediaType',
      `Media type '${declared}' does not match the manifest's mediaType '${inManifest}'`,
    );
  }
  const mediaType = declared ?? inManifest;
  if (mediaType === undefined) throw unreadable();
  if (!storableMediaTypes.includes(mediaType)) {
    throw invalidParameterAt(
      'imageManifestMediaType',
      `Member must satisfy enum value set: [${storableMediaTypes.join(', ')}]`,
    );
  }
  if (mediaType === MediaType.dockerSchema1 || mediaType === MediaType.dockerSchema1Signed) {
    if (doc.schemaVersion !== 1 || !Array.isArray(doc.fsLayers)) throw unreadable();
    const sums: unknown[] = doc.fsLayers.map((l: unknown) => (isJsonObject(l) ? l.blobSum : undefined));
    if (!sums.every(isSha256Digest)) throw unreadable();
    return { mediaType, layers: [...new Set(sums)].map((digest) => ({ digest, size: 0 })), children: [] };
  }
  if (doc.schemaVersion !== 2) throw unreadable();
  if (isIndexMediaType(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw unreadable();
    return { mediaType, layers: [], children: doc.manifests.map((m: unknown) => descriptor(m).digest) };
  }
  const config = descriptor(doc.config);
  const layers = Array.isArray(doc.layers) ? doc.layers.map(descriptor) : [];
  return {
    mediaType,
    artifactMediaType:
      isJsonObject(doc.config) && typeof doc.config.mediaType === 'string' ? doc.config.mediaType : undefined,
    config: config.digest,
    layers,
    children: [],
  };
}
