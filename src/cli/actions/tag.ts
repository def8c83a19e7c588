/**
 * `ecrx tag IMAGE NEW-TAG...`: PutImage of the image's exact manifest bytes under each new tag. No blob moves and
 * the digest is the same. On an immutable repository a taken tag is TAG_IMMUTABLE, with the repository's setting
 * and its exclusion filters (the tags that stay mutable, or the only ones that are immutable) spelled out.
 */
import { EcrxError } from '../../core/errors.js';
import { formatReference, isValidTag, parseReference } from '../../core/reference.js';
import type { EcrFlags } from '../common.js';
import { printSuccess } from '../output.js';
import type { Ecr } from '../../ecr/client.js';
import { awsFacts, fromAws } from '../../ecr/errors.js';
import { verifyManifestDigest } from '../../oci/manifest.js';
import { acceptedManifestTypes, MediaType } from '../../oci/media-types.js';
import { openSession } from '../session.js';
import { inaccessibleImageError, renameArchived } from '../../ecr/archived.js';

/** Every manifest type ECR stores, so that BatchGetImage returns the stored bytes unconverted. */
/** Every manifest type: a tag is moved by the exact bytes stored, whatever their format, schema 1 included. */
const ALL_MANIFEST_TYPES = [...acceptedManifestTypes, MediaType.dockerSchema1Signed, MediaType.dockerSchema1];

export async function tag(imageText: string, newTags: string[], flags: EcrFlags, signal: AbortSignal): Promise<void> {
  const ref = parseReference(imageText);
  for (const t of newTags) {
    if (!isValidTag(t))
      throw new EcrxError('VALIDATION_ERROR', `Invalid tag '${t}'`, {
        hint: 'Tags are letters, digits, _ . - (not starting with . or -), up to 300 characters.',
      });
  }
  const { reporter, ecr } = await openSession(flags, 'tag', ref);
  try {
    reporter.phase(`reading ${formatReference(ref)}`);
    const image = await getManifest(ecr, ref, signal);
    const results: { tag: string; status: 'tagged' | 'unchanged' }[] = [];
    for (const t of newTags) {
      reporter.phase(`PutImage ${ref.repository}:${t}`);
      results.push({ tag: t, status: await putTag(ecr, ref.repository, image, t, results, signal) });
    }
    reporter.stop();
    const data = {
      image: imageText,
      repository: ref.repository,
      digest: image.digest,
      mediaType: image.mediaType,
      tags: results,
    };
    printSuccess(
      flags,
      data,
      () =>
        `Tagged ${ref.repository}@${image.digest} as ${results.map((r) => `${r.tag}${r.status === 'unchanged' ? ' (already)' : ''}`).join(', ')} (manifest only: no blob moved)`,
    );
  } finally {
    reporter.stop();
    ecr.destroy();
  }
}

interface StoredManifest {
  digest: string;
  manifest: string;
  mediaType: string;
}

async function getManifest(
  ecr: Ecr,
  ref: ReturnType<typeof parseReference>,
  signal: AbortSignal,
): Promise<StoredManifest> {
  const id = ref.digest
    ? { imageDigest: ref.digest, ...(ref.tag ? { imageTag: ref.tag } : {}) }
    : { imageTag: ref.tag! };
  const out = await ecr.request(
    'BatchGetImage',
    ecr.withRegistry({ repositoryName: ref.repository, imageIds: [id], acceptedMediaTypes: ALL_MANIFEST_TYPES }),
    `Getting the manifest of ${formatReference(ref)}`,
    { signal },
  );
  const failure = out.failures?.[0];
  if (failure?.failureCode === 'ImageInaccessible')
    throw renameArchived(await inaccessibleImageError(ecr, ref.repository, id, signal), ref);
  const img = out.images?.[0];
  const digest = img?.imageId?.imageDigest;
  if (failure || !img?.imageManifest || !digest) {
    throw new EcrxError(
      'IMAGE_NOT_FOUND',
      `Image ${formatReference(ref)} not found${failure ? ` (${failure.failureCode}: ${failure.failureReason})` : ''}`,
      { hint: `\`ecrx tags ${ref.repository}\` lists the tags that exist.` },
    );
  }
  verifyManifestDigest(Buffer.from(img.imageManifest, 'utf8'), digest, formatReference(ref));
  return { digest, manifest: img.imageManifest, mediaType: img.imageManifestMediaType ?? '' };
}

async function putTag(
  ecr: Ecr,
  repository: string,
  image: StoredManifest,
  t: string,
  done: { tag: string }[],
  signal: AbortSignal,
): Promise<'tagged' | 'unchanged'> {
  try {
    await ecr.call(
      'PutImage',
      ecr.withRegistry({
        repositoryName: repository,
        imageManifest: image.manifest,
        imageManifestMediaType: image.mediaType,
        imageDigest: image.digest,
        imageTag: t,
      }),
      { signal },
    );
    return 'tagged';
  } catch (err) {
    const { name } = awsFacts(err);
    if (name === 'ImageAlreadyExistsException') return 'unchanged';
    const partial = { tagged: done.map((d) => d.tag), failedTag: t, repository, digest: image.digest };
    if (name === 'ImageTagAlreadyExistsException')
      throw await immutableTagError(ecr, repository, t, partial, err, signal);
    const e = fromAws(err, `PutImage ${repository}:${t}`);
    throw new EcrxError(e.code, e.message, { hint: e.hint, cause: err, details: { ...e.details, ...partial } });
  }
}

/** Says why a tag cannot move: the repository's mutability, and which tags its exclusion filters set apart. */
async function immutableTagError(
  ecr: Ecr,
  repository: string,
  t: string,
  partial: Record<string, unknown>,
  cause: unknown,
  signal: AbortSignal,
): Promise<EcrxError> {
  let setting: string | undefined;
  let filters: string[] = [];
  try {
    const out = await ecr.call('DescribeRepositories', ecr.withRegistry({ repositoryNames: [repository] }), {
      signal,
      attempts: 3,
    });
    setting = out.repositories?.[0]?.imageTagMutability;
    filters = (out.repositories?.[0]?.imageTagMutabilityExclusionFilters ?? []).flatMap((f) =>
      f.filter ? [f.filter] : [],
    );
  } catch {
    // without ecr:DescribeRepositories the error still says what happened
  }
  const list = filters.map((f) => `'${f}'`).join(', ');
  const why =
    setting === 'IMMUTABLE_WITH_EXCLUSION'
      ? `tags are immutable in ${repository} except those matching ${list}`
      : setting === 'MUTABLE_WITH_EXCLUSION'
        ? `tags matching ${list} are immutable in ${repository}`
        : `the tags of ${repository} are immutable`;
  return new EcrxError('TAG_IMMUTABLE', `Tag '${t}' already exists in ${repository} on another image, and ${why}`, {
    hint:
      setting === 'IMMUTABLE_WITH_EXCLUSION'
        ? `Use a new tag, or one that matches an exclusion filter (${list}), which may move.`
        : setting === 'MUTABLE_WITH_EXCLUSION'
          ? `Use a tag that matches none of ${list}, or a new one.`
          : 'Use a new tag; moving an existing one needs the repository to allow it (aws ecr put-image-tag-mutability).',
    details: { ...partial, imageTagMutability: setting ?? null, exclusionFilters: filters },
    cause,
  });
}
