/** Manifests and indexes as bytes plus their parsed view; the bytes are what is hashed, stored and sent. */
import { isSha256Digest, sha256Digest } from '../core/digest.js';
import { EcrxError } from '../core/errors.js';
import { digestMismatch } from '../core/verify.js';
import { MediaType, isIndexMediaType, isImageManifestMediaType } from './media-types.js';
import type { Platform } from './platform.js';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
  urls?: string[];
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export type ParsedManifest =
  | { kind: 'manifest'; mediaType: string; manifest: ImageManifest }
  | { kind: 'index'; mediaType: string; index: ImageIndex };

/** Hashing lives in core/digest.ts; re-exported for the callers that still import it from here. */
export { sha256Digest };

/** A JSON object (not an array, not null): what a manifest, an index or a config must be at the top. */
export const isJsonObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A descriptor as ecrx will follow it: a sha256 digest (never a path in disguise) and a whole, non-negative size. */
export function isDescriptor(d: unknown): d is Descriptor {
  const o = d as Partial<Descriptor> | null | undefined;
  return (
    typeof o === 'object' &&
    o !== null &&
    isSha256Digest(o.digest) &&
    Number.isSafeInteger(o.size) &&
    (o.size as number) >= 0
  );
}

function checkDescriptors(list: unknown[], where: string): void {
  list.forEach((d, i) => {
    if (!isDescriptor(d))
      throw new EcrxError(
        'INVALID_IMAGE',
        `${where}[${i}] is not a valid descriptor (needs a sha256 digest and a size)`,
      );
  });
}

/**
 * Parses manifest bytes. `declared` is the media type the transport reported (ECR's imageManifestMediaType, an
 * index.json descriptor); the document's own mediaType field wins when both exist.
 */
export function parseManifest(bytes: Buffer, declared?: string): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new EcrxError('INVALID_IMAGE', 'The manifest is not valid JSON');
  }
  if (!isJsonObject(doc)) throw new EcrxError('INVALID_IMAGE', 'The manifest is not a JSON object');
  if (doc.schemaVersion === 1) {
    throw new EcrxError('INVALID_IMAGE', 'This image uses Docker manifest schema 1, which ecrx does not handle', {
      hint: 'Re-push the image with a current Docker or buildx, which writes schema 2 or OCI manifests.',
    });
  }
  const own = doc.mediaType === undefined || doc.mediaType === null ? undefined : String(doc.mediaType);
  const mediaType = own ?? declared ?? (Array.isArray(doc.manifests) ? MediaType.ociIndex : MediaType.ociManifest);
  if (isIndexMediaType(mediaType) || (!own && Array.isArray(doc.manifests))) {
    if (!Array.isArray(doc.manifests)) throw new EcrxError('INVALID_IMAGE', 'The index has no manifests list');
    checkDescriptors(doc.manifests, 'manifests');
    return { kind: 'index', mediaType, index: doc as unknown as ImageIndex };
  }
  if (!isImageManifestMediaType(mediaType)) {
    throw new EcrxError('INVALID_IMAGE', `Unsupported manifest media type '${mediaType}'`, {
      hint: 'ecrx handles OCI and Docker schema 2 manifests and indexes.',
    });
  }
  if (!isDescriptor(doc.config))
    throw new EcrxError('INVALID_IMAGE', 'config is not a valid descriptor (needs a sha256 digest and a size)');
  if (!Array.isArray(doc.layers)) throw new EcrxError('INVALID_IMAGE', 'The manifest has no layers list');
  checkDescriptors(doc.layers, 'layers');
  return { kind: 'manifest', mediaType, manifest: doc as unknown as ImageManifest };
}

/** Fails with DIGEST_MISMATCH unless `bytes` hash to `expected`. */
export function verifyManifestDigest(bytes: Buffer, expected: string, what: string): void {
  const actual = sha256Digest(bytes);
  if (actual !== expected)
    throw digestMismatch(`The manifest of ${what}`, expected, actual, {
      hint: 'Nothing was written. The registry or something between it and you changed the bytes; try again, and report it if it persists.',
    });
}
