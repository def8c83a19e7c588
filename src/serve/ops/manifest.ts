/**
 * What PutImage reads from a manifest. The media type is the manifest's own `mediaType` or the request's
 * `imageManifestMediaType`; ECR documents that a manifest without `mediaType` needs `imageManifestMediaType`, and
 * answers one with neither as it answers any manifest it cannot read: InvalidParameterException,
 * "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'".
 */
import { invalidParameterAt } from '../api-error.js';
import { SHA256_DIGEST_RE } from '../ecr-rules.js';
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

export interface ParsedManifest {
  mediaType: string;
  artifactMediaType?: string;
  config?: string;
  layers: { digest: string; size: number }[];
  /** Child manifests an index references. */
  children: string[];
}

const unreadable = () => invalidParameterAt('ImageManifest', 'Invalid JSON syntax');

function descriptor(d: any): { digest: string; size: number } {
  if (!d || typeof d.digest !== 'string' || !SHA256_DIGEST_RE.test(d.digest) || typeof d.size !== 'number')
    throw unreadable();
  return { digest: d.digest, size: d.size };
}

export function parseManifest(text: string, declared: string | undefined): ParsedManifest {
  let doc: any;
  try {
    doc = JSON.parse(text);
  } catch {
    throw unreadable();
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw unreadable();
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
    const sums: string[] = doc.fsLayers.map((l: any) => l?.blobSum);
    if (sums.some((s) => typeof s !== 'string' || !SHA256_DIGEST_RE.test(s))) throw unreadable();
    return { mediaType, layers: [...new Set(sums)].map((digest) => ({ digest, size: 0 })), children: [] };
  }
  if (doc.schemaVersion !== 2) throw unreadable();
  if (isIndexMediaType(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw unreadable();
    return { mediaType, layers: [], children: doc.manifests.map((m: any) => descriptor(m).digest) };
  }
  const config = descriptor(doc.config);
  const layers = Array.isArray(doc.layers) ? doc.layers.map(descriptor) : [];
  return {
    mediaType,
    artifactMediaType: typeof doc.config?.mediaType === 'string' ? doc.config.mediaType : undefined,
    config: config.digest,
    layers,
    children: [],
  };
}
