/** Manifests and indexes as bytes plus their parsed view; the bytes are what is hashed, stored and sent. */
import { createHash } from 'node:crypto';
import { EcrxError } from '../core/errors.js';
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

export const sha256Digest = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

const DIGEST = /^sha256:[a-f0-9]{64}$/;

function checkDescriptor(d: any, where: string): Descriptor {
  if (
    !d ||
    typeof d !== 'object' ||
    typeof d.digest !== 'string' ||
    !DIGEST.test(d.digest) ||
    !Number.isSafeInteger(d.size) ||
    d.size < 0
  ) {
    throw new EcrxError('INVALID_IMAGE', `${where} is not a valid descriptor (needs a sha256 digest and a size)`);
  }
  return d as Descriptor;
}

/**
 * Parses manifest bytes. `declared` is the media type the transport reported (ECR's imageManifestMediaType, an
 * index.json descriptor); the document's own mediaType field wins when both exist.
 */
export function parseManifest(bytes: Buffer, declared?: string): ParsedManifest {
  let doc: any;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new EcrxError('INVALID_IMAGE', 'The manifest is not valid JSON');
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw new EcrxError('INVALID_IMAGE', 'The manifest is not a JSON object');
  if (doc.schemaVersion === 1) {
    throw new EcrxError('INVALID_IMAGE', 'This image uses Docker manifest schema 1, which ecrx does not handle', {
      hint: 'Re-push the image with a current Docker or buildx, which writes schema 2 or OCI manifests.',
    });
  }
  const mediaType: string =
    doc.mediaType ?? declared ?? (Array.isArray(doc.manifests) ? MediaType.ociIndex : MediaType.ociManifest);
  if (isIndexMediaType(mediaType) || (!doc.mediaType && Array.isArray(doc.manifests))) {
    if (!Array.isArray(doc.manifests)) throw new EcrxError('INVALID_IMAGE', 'The index has no manifests list');
    doc.manifests.forEach((m: any, i: number) => checkDescriptor(m, `manifests[${i}]`));
    return { kind: 'index', mediaType, index: doc as ImageIndex };
  }
  if (!isImageManifestMediaType(mediaType)) {
    throw new EcrxError('INVALID_IMAGE', `Unsupported manifest media type '${mediaType}'`, {
      hint: 'ecrx handles OCI and Docker schema 2 manifests and indexes.',
    });
  }
  checkDescriptor(doc.config, 'config');
  if (!Array.isArray(doc.layers)) throw new EcrxError('INVALID_IMAGE', 'The manifest has no layers list');
  doc.layers.forEach((l: any, i: number) => checkDescriptor(l, `layers[${i}]`));
  return { kind: 'manifest', mediaType, manifest: doc as ImageManifest };
}

/** Fails with DIGEST_MISMATCH unless `bytes` hash to `expected`. */
export function verifyManifestDigest(bytes: Buffer, expected: string, what: string): void {
  const actual = sha256Digest(bytes);
  if (actual !== expected) {
    throw new EcrxError(
      'DIGEST_MISMATCH',
      `The manifest of ${what} does not match its digest: expected ${expected}, got ${actual}`,
      {
        details: { expected, actual },
        hint: 'Nothing was written. The registry or something between it and you changed the bytes; try again, and report it if it persists.',
      },
    );
  }
}
