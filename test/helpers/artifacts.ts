/**
 * OCI 1.1 artifacts made in code with the shapes their tools give them, signed for real (ECDSA P-256), so a test can
 * check that a signature still verifies against a copy: a cosign signature (simple-signing payload, the signature in
 * the layer's annotation), a notation signature (a JWS envelope over the target descriptor), and an SPDX SBOM.
 * Each is an OCI image manifest with `artifactType`, the empty config, and a `subject`.
 */
import { createSign, createVerify, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { sha256Digest } from '../../src/oci/manifest.js';

export const EMPTY_CONFIG = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  digest: sha256Digest(Buffer.from('{}')),
  size: 2,
};
export const COSIGN_SIG_TYPE = 'application/vnd.dev.cosign.artifact.sig.v1+json';
export const NOTATION_SIG_TYPE = 'application/vnd.cncf.notary.signature';
export const SPDX_TYPE = 'application/spdx+json';

export interface Blob {
  digest: string;
  size: number;
  bytes: Buffer;
  mediaType: string;
}

export interface Artifact {
  manifest: Blob;
  artifactType: string;
  blobs: Blob[];
}

const blob = (bytes: Buffer, mediaType: string): Blob => ({
  digest: sha256Digest(bytes),
  size: bytes.length,
  bytes,
  mediaType,
});
const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export interface Subject {
  digest: string;
  size: number;
  mediaType: string;
}

export const keys = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });

function artifact(
  artifactType: string,
  subject: Subject,
  layers: Blob[],
  annotations: Record<string, string>[] = [],
  manifestAnnotations?: Record<string, string>,
): Artifact {
  const doc = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType,
    config: EMPTY_CONFIG,
    layers: layers.map((l, i) => ({
      mediaType: l.mediaType,
      digest: l.digest,
      size: l.size,
      ...(annotations[i] ? { annotations: annotations[i] } : {}),
    })),
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    ...(manifestAnnotations ? { annotations: manifestAnnotations } : {}),
  };
  return {
    manifest: blob(Buffer.from(JSON.stringify(doc)), doc.mediaType),
    artifactType,
    blobs: [blob(Buffer.from('{}'), EMPTY_CONFIG.mediaType), ...layers],
  };
}

/** cosign's simple-signing payload for `reference`, signed; the signature rides in the layer annotation. */
export function cosignSignature(subject: Subject, reference: string, key: KeyObject): Artifact {
  const payload = Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': reference },
        image: { 'docker-manifest-digest': subject.digest },
        type: 'cosign container image signature',
      },
      optional: null,
    }),
  );
  const signature = createSign('sha256').update(payload).sign(key).toString('base64');
  return artifact(
    COSIGN_SIG_TYPE,
    subject,
    [blob(payload, 'application/vnd.dev.cosign.simplesigning.v1+json')],
    [{ 'dev.cosignproject.cosign/signature': signature }],
    { 'org.opencontainers.image.created': '2026-05-01T00:00:00Z' },
  );
}

/** notation's JWS envelope: the payload names the target descriptor, ES256 over protected.payload. */
export function notationSignature(subject: Subject, key: KeyObject): Artifact {
  const protectedHeader = b64url(
    JSON.stringify({
      alg: 'ES256',
      cty: 'application/vnd.cncf.notary.payload.v1+json',
      crit: ['io.cncf.notary.signingScheme'],
      'io.cncf.notary.signingScheme': 'notary.x509',
      'io.cncf.notary.signingTime': '2026-05-01T00:00:00Z',
    }),
  );
  const payload = b64url(
    JSON.stringify({ targetArtifact: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size } }),
  );
  const signature = b64url(
    createSign('sha256').update(`${protectedHeader}.${payload}`).sign({ key, dsaEncoding: 'ieee-p1363' }),
  );
  const envelope = Buffer.from(JSON.stringify({ payload, protected: protectedHeader, header: { x5c: [] }, signature }));
  return artifact(NOTATION_SIG_TYPE, subject, [blob(envelope, 'application/jose+json')], [], {
    'io.cncf.notary.x509chain.thumbprint#S256': '["0000"]',
  });
}

export function spdxSbom(subject: Subject): Artifact {
  const doc = Buffer.from(
    JSON.stringify({
      spdxVersion: 'SPDX-2.3',
      SPDXID: 'SPDXRef-DOCUMENT',
      name: 'image',
      packages: [{ name: 'busybox', versionInfo: '1.36.1', SPDXID: 'SPDXRef-busybox' }],
    }),
  );
  return artifact(SPDX_TYPE, subject, [blob(doc, SPDX_TYPE)], [], {
    'org.opencontainers.image.created': '2026-05-01T00:00:00Z',
  });
}

export const asSubject = (a: Artifact | { manifest: Blob }): Subject => ({
  digest: a.manifest.digest,
  size: a.manifest.size,
  mediaType: a.manifest.mediaType,
});

/** Verifies a cosign signature manifest (as fetched back) against `subjectDigest`; throws when it does not hold. */
export function verifyCosign(manifestText: string, payload: Buffer, key: KeyObject, subjectDigest: string): void {
  const doc = JSON.parse(manifestText);
  if (doc.subject.digest !== subjectDigest)
    throw new Error(`signature's subject is ${doc.subject.digest}, not ${subjectDigest}`);
  const claimed = JSON.parse(payload.toString('utf8')).critical.image['docker-manifest-digest'];
  if (claimed !== subjectDigest) throw new Error(`signed payload names ${claimed}, not ${subjectDigest}`);
  const sig = Buffer.from(doc.layers[0].annotations['dev.cosignproject.cosign/signature'], 'base64');
  if (!createVerify('sha256').update(payload).verify(key, sig)) throw new Error('cosign signature does not verify');
}

/** Verifies a notation JWS envelope against `subjectDigest`; throws when it does not hold. */
export function verifyNotation(envelopeBytes: Buffer, key: KeyObject, subjectDigest: string): void {
  const env = JSON.parse(envelopeBytes.toString('utf8'));
  const target = JSON.parse(Buffer.from(env.payload, 'base64url').toString('utf8')).targetArtifact;
  if (target.digest !== subjectDigest) throw new Error(`notation payload names ${target.digest}, not ${subjectDigest}`);
  const ok = createVerify('sha256')
    .update(`${env.protected}.${env.payload}`)
    .verify({ key, dsaEncoding: 'ieee-p1363' }, Buffer.from(env.signature, 'base64url'));
  if (!ok) throw new Error('notation signature does not verify');
}

/**
 * Adds artifacts to an existing OCI layout the way `oras cp --to-oci-layout --recursive` leaves them: every blob
 * under blobs/sha256 and one index.json entry per artifact manifest, with its artifactType.
 */
export async function addToLayout(dir: string, artifacts: Artifact[]): Promise<void> {
  const blobs = join(dir, 'blobs', 'sha256');
  for (const a of artifacts)
    for (const b of [...a.blobs, a.manifest]) await fsp.writeFile(join(blobs, b.digest.slice(7)), b.bytes);
  const index = JSON.parse(await fsp.readFile(join(dir, 'index.json'), 'utf8'));
  for (const a of artifacts)
    index.manifests.push({
      mediaType: a.manifest.mediaType,
      digest: a.manifest.digest,
      size: a.manifest.size,
      artifactType: a.artifactType,
    });
  await fsp.writeFile(join(dir, 'index.json'), JSON.stringify(index));
}
