/**
 * How an OCI layout's index.json marks an entry as something attached to an image rather than an image: an
 * `artifactType` (oras), the `io.containerd.manifest.subject` annotation (containerd, `ecrx pull --referrers`), or
 * cosign's `kind` annotation for its signature and attestation images (`cosign save`).
 */
import type { Descriptor } from './manifest.js';

export const SUBJECT_ANNOTATION = 'io.containerd.manifest.subject';
export const COSIGN_KIND = 'kind';
export const COSIGN_SIGS = 'dev.cosignproject.cosign/sigs';
export const COSIGN_ATTS = 'dev.cosignproject.cosign/atts';

export function isReferrerDescriptor(d: Descriptor & { artifactType?: string }): boolean {
  const kind = d.annotations?.[COSIGN_KIND];
  return (
    Boolean(d.artifactType) ||
    Boolean(d.annotations?.[SUBJECT_ANNOTATION]) ||
    kind === COSIGN_SIGS ||
    kind === COSIGN_ATTS
  );
}
