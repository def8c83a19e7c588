/**
 * ECR's manifest conversion for BatchGetImage (user guide, "Container image manifest format support"): a pull by
 * tag gets the stored format when the client accepts it, otherwise one of the documented conversions:
 *   stored Docker v2 schema 2 -> OCI image manifest, or Docker v2 schema 1
 *   stored OCI image manifest -> Docker v2 schema 2
 * and nothing else (schema 1, indexes and manifest lists are never converted). A pull by digest is never converted.
 * The converted manifest is new JSON with a digest of its own, and the blobs it names are the stored image's.
 */
import { readFileSync } from 'node:fs';
import { sha256Digest, sha256Hex } from '../../core/digest.js';
import { isJsonObject } from '../../oci/manifest.js';
import { MediaType } from '../../oci/media-types.js';

type Json = Record<string, unknown>;

export interface Served {
  manifest: string;
  mediaType: string;
  digest: string;
}

const isSchema1 = (t: string) => t === MediaType.dockerSchema1 || t === MediaType.dockerSchema1Signed;

/** Whether `accepted` takes a manifest of `type` as it is (a schema 1 request takes either schema 1 form). */
export const acceptsAsIs = (accepted: string[], type: string) =>
  accepted.includes(type) || (isSchema1(type) && accepted.some(isSchema1));

const served = (doc: unknown, mediaType: string, indent: number | undefined): Served => {
  const manifest = JSON.stringify(doc, null, indent);
  return { manifest, mediaType, digest: sha256Digest(manifest) };
};

/** OCI and Docker names for the same things; a type with no counterpart makes an image unconvertible. */
const ociToDocker: Record<string, string> = {
  [MediaType.ociConfig]: MediaType.dockerConfig,
  [MediaType.ociLayerGzip]: MediaType.dockerLayerGzip,
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip': MediaType.dockerForeignLayerGzip,
};
const dockerToOci: Record<string, string> = Object.fromEntries(Object.entries(ociToDocker).map(([k, v]) => [v, k]));

function renameTypes(doc: Json, names: Record<string, string>, mediaType: string): object | undefined {
  // An artifact (a subject, an artifactType, or a config no image runtime reads) has no form in the other format.
  if (doc.subject !== undefined || doc.artifactType !== undefined) return undefined;
  const descriptor = (d: unknown) => {
    const renamed = isJsonObject(d) && typeof d.mediaType === 'string' ? names[d.mediaType] : undefined;
    if (!renamed || !isJsonObject(d)) return undefined;
    return { mediaType: renamed, size: d.size, digest: d.digest, ...(Array.isArray(d.urls) ? { urls: d.urls } : {}) };
  };
  const config = descriptor(doc.config);
  const layers = (Array.isArray(doc.layers) ? doc.layers : []).map(descriptor);
  if (!config || layers.some((l: unknown) => l === undefined)) return undefined;
  return { schemaVersion: 2, mediaType, config, layers };
}

interface HistoryEntry {
  created?: string;
  created_by?: string;
  empty_layer?: boolean;
}

/**
 * Docker v2 schema 2 to an unsigned schema 1 manifest, as the registry's ConfigBuilder does: one history entry per
 * layer (entries for empty layers are dropped), v1 ids chained from the layer digests, the top entry carrying the
 * image configuration.
 */
function toSchema1(doc: Json, configBytes: Buffer, repository: string, tag: string): Served | undefined {
  const config = jsonOf(configBytes.toString('utf8'));
  const layers: { digest: string }[] = Array.isArray(doc.layers) ? doc.layers : [];
  if (layers.length === 0 || !config) return undefined;
  const history: HistoryEntry[] = (Array.isArray(config.history) ? config.history : []).filter(
    (h: HistoryEntry) => !h.empty_layer,
  );
  const { history: _h, rootfs: _r, ...imageConfig } = config;
  const entries: string[] = [];
  let parent = '';
  layers.forEach((layer, i) => {
    const hex = layer.digest.slice('sha256:'.length);
    const top = i === layers.length - 1;
    const id = sha256Hex(top ? `${hex} ${parent} ${JSON.stringify(imageConfig)}` : `${hex} ${parent}`);
    const h = history[i] ?? {};
    const entry = top
      ? { ...imageConfig, id, ...(parent ? { parent } : {}) }
      : {
          id,
          ...(parent ? { parent } : {}),
          ...(h.created ? { created: h.created } : {}),
          container_config: { Cmd: h.created_by ? [h.created_by] : [] },
        };
    entries.push(JSON.stringify(entry));
    parent = id;
  });
  const manifest = {
    schemaVersion: 1,
    name: repository,
    tag,
    architecture: config.architecture ?? 'amd64',
    fsLayers: [...layers].reverse().map((l) => ({ blobSum: l.digest })),
    history: entries.reverse().map((v1Compatibility) => ({ v1Compatibility })),
  };
  return served(manifest, MediaType.dockerSchema1, 3);
}

/** A JSON object from text, or undefined (not JSON, or not an object): nothing to convert. */
function jsonOf(text: string): Json | undefined {
  try {
    const doc: unknown = JSON.parse(text);
    return isJsonObject(doc) ? doc : undefined;
  } catch {
    return undefined;
  }
}

export interface Convertible {
  manifest: string;
  mediaType: string;
  /** Where the image's config blob is on disk (needed for schema 1). */
  configPath?: string;
}

/** The stored manifest converted to a type in `accepted`, or undefined when ECR documents no such conversion. */
export function convertForPull(
  img: Convertible,
  accepted: string[],
  repository: string,
  tag: string,
): Served | undefined {
  const doc = jsonOf(img.manifest);
  if (!doc) return undefined;
  if (img.mediaType === MediaType.ociManifest && accepted.includes(MediaType.dockerManifest)) {
    const out = renameTypes(doc, ociToDocker, MediaType.dockerManifest);
    return out && served(out, MediaType.dockerManifest, 3);
  }
  if (img.mediaType !== MediaType.dockerManifest) return undefined;
  if (accepted.includes(MediaType.ociManifest)) {
    const out = renameTypes(doc, dockerToOci, MediaType.ociManifest);
    if (out) return served(out, MediaType.ociManifest, undefined);
  }
  if (accepted.includes(MediaType.dockerSchema1) && img.configPath) {
    let configBytes: Buffer;
    try {
      configBytes = readFileSync(img.configPath);
    } catch {
      return undefined;
    }
    return toSchema1(doc, configBytes, repository, tag);
  }
  return undefined;
}
