/**
 * How much of a document ecrx holds in memory and parses as JSON. Layers stream and are never parsed; manifests,
 * configs and an archive's own metadata are read whole, so each has a ceiling, checked before it is read: a
 * source that claims a 250 MB config is refused, not parsed.
 */
import { isUtf8 } from 'node:buffer';
import { EcrxError } from '../core/errors.js';

const MiB = 1024 * 1024;

/** ECR's PutImage limit (imageManifest, 4,194,304 characters); distribution registries use the same 4 MiB. */
export const MAX_MANIFEST_BYTES = 4 * MiB;
/** Image configs: real ones are kilobytes; a long history with many labels stays far below this. */
export const MAX_CONFIG_BYTES = 8 * MiB;
/** An archive's or layout's index.json and a docker-archive's manifest.json. */
export const MAX_METADATA_BYTES = 4 * MiB;

export const formatLimit = (bytes: number) => `${bytes / MiB} MiB`;

/** Fails with INVALID_IMAGE when a manifest of `size` bytes is more than ECR takes: checked before it is read. */
export function checkManifestSize(size: number, what: string): void {
  if (size > MAX_MANIFEST_BYTES) {
    throw new EcrxError(
      'INVALID_IMAGE',
      `${what} is ${size} bytes; ECR accepts manifests up to ${formatLimit(MAX_MANIFEST_BYTES)} (${MAX_MANIFEST_BYTES} bytes)`,
      {
        hint: 'Nothing was uploaded. Make the manifest smaller (fewer layers or annotations).',
      },
    );
  }
}

/** Fails with INVALID_IMAGE when a JSON document other than a manifest is too big to be read and parsed. */
export function checkDocumentSize(size: number, limit: number, what: string): void {
  if (size > limit) {
    throw new EcrxError(
      'INVALID_IMAGE',
      `${what} is ${size} bytes; ecrx reads such documents up to ${formatLimit(limit)}`,
      {
        hint: 'Nothing was uploaded. An image whose metadata is this large was not written by docker, buildah, skopeo or ecrx.',
      },
    );
  }
}

/**
 * Fails with INVALID_IMAGE unless `bytes` can go to ECR as a manifest: at most 4 MiB, and valid UTF-8 (ECR takes
 * the manifest as text; bytes that are not UTF-8 would arrive changed, under a different digest).
 */
export function checkManifestBytes(bytes: Buffer, what: string): void {
  checkManifestSize(bytes.length, what);
  if (!isUtf8(bytes)) {
    throw new EcrxError(
      'INVALID_IMAGE',
      `${what} is not valid UTF-8; ECR stores manifests as text, so these bytes cannot be pushed unchanged`,
      {
        hint: 'Nothing was uploaded. Re-create the image with a tool that writes UTF-8 JSON.',
      },
    );
  }
}
