/**
 * OCI 1.1 referrers of a manifest in a distribution registry: the referrers API (`GET /v2/<name>/referrers/<digest>`)
 * where the registry has it, else the tag schema (`<name>:sha256-<hex>`, an index of the referrers, as oras and
 * cosign write it for registries without the API, e.g. distribution 2.8). Discovery is recursive and breadth-first,
 * so a subject always comes before what refers to it.
 */
import { EcrxError } from '../core/errors.js';
import type { Descriptor } from '../oci/manifest.js';
import { MediaType } from '../oci/media-types.js';
import { pullScope, readLimited, type RegistryClient } from './client.js';
import { registryError } from './errors.js';
import { walkReferrers } from '../oci/referrer-walk.js';

export interface RegistryReferrer {
  digest: string;
  mediaType: string;
  artifactType: string | null;
  size: number;
  subject: string;
}

/** How deep a chain of referrers is followed (a signature of an SBOM of the image ...). */

function manifestsOf(bytes: Buffer, what: string): Descriptor[] {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new EcrxError('INVALID_IMAGE', `${what} is not valid JSON`);
  }
  const list = (doc as { manifests?: unknown })?.manifests;
  if (!Array.isArray(list)) throw new EcrxError('INVALID_IMAGE', `${what} has no manifests list`);
  return list.filter(
    (d): d is Descriptor => typeof d?.digest === 'string' && /^sha256:[a-f0-9]{64}$/.test(d.digest as string),
  );
}

/** The direct referrers of `subject`: the API when the registry answers it, the tag schema otherwise. */
export async function listRegistryReferrers(
  client: RegistryClient,
  repository: string,
  subject: string,
  signal?: AbortSignal,
): Promise<RegistryReferrer[]> {
  const what = `Listing the referrers of ${client.name(repository, subject)}`;
  const res = await client.request({
    method: 'GET',
    path: `/v2/${repository}/referrers/${subject}`,
    headers: { accept: MediaType.ociIndex },
    scope: pullScope(repository),
    what,
    signal,
  });
  let descriptors: Descriptor[];
  if (res.statusCode === 200) {
    descriptors = manifestsOf(await readLimited(res, 4 * 1024 * 1024, what), what);
  } else if (res.statusCode === 404) {
    // No referrers API here: the tag schema's index, when a tool wrote one.
    res.resume();
    const tag = `sha256-${subject.slice(7)}`;
    const there = await client.headManifest(repository, tag, signal);
    if (!there) return [];
    const index = await client.getManifest(repository, tag, signal);
    descriptors = manifestsOf(index.bytes, `${client.name(repository, tag)}`);
  } else {
    throw await registryError(res, await client.errorContext(what, 'IMAGE_NOT_FOUND'));
  }
  return descriptors.map((d) => ({
    digest: d.digest,
    mediaType: d.mediaType,
    artifactType: (d as Descriptor & { artifactType?: string }).artifactType ?? null,
    size: d.size,
    subject,
  }));
}

/** Every referrer of `subjects`, recursively, each once, subjects before their referrers. */
export async function registryReferrerTree(
  client: RegistryClient,
  repository: string,
  subjects: string[],
  signal?: AbortSignal,
): Promise<RegistryReferrer[]> {
  return walkReferrers(subjects, (subject) => listRegistryReferrers(client, repository, subject, signal));
}
