/**
 * OCI 1.1 referrers in the emulator: PutImage records a manifest's `subject`, `artifactType` (or, as the OCI
 * distribution spec says, its config's media type when it has none) and annotations; ListImageReferrers lists the
 * manifests whose subject is an image, filtered by artifact type (up to 5) and status (ACTIVE unless asked), at most
 * 50 a page (the model's FiftyMaxResults) with a nextToken. A subject that is not (or not yet) in the repository is
 * allowed, as the spec allows it, and simply has no referrers or some.
 */
import { isSha256Digest } from '../../core/digest.js';
import { isJsonObject } from '../../oci/manifest.js';
import { type Context, type Input, requireRepo } from '../context.js';
import type { ImageRecord } from '../store.js';
import { pageOf } from './paging.js';
import { statusOf } from './storage-class.js';

const EMPTY_CONFIG = 'application/vnd.oci.empty.v1+json';

/** What ListImageReferrers needs from a manifest, read once at PutImage. */
export function referrerFields(manifest: string): Pick<ImageRecord, 'subject' | 'artifactType' | 'annotations'> {
  let doc: unknown;
  try {
    doc = JSON.parse(manifest);
  } catch {
    return {};
  }
  if (!isJsonObject(doc)) return {};
  const subject = isJsonObject(doc.subject) && isSha256Digest(doc.subject.digest) ? doc.subject.digest : undefined;
  const configType =
    isJsonObject(doc.config) && typeof doc.config.mediaType === 'string' && doc.config.mediaType !== EMPTY_CONFIG
      ? doc.config.mediaType
      : undefined;
  const artifactType =
    typeof doc.artifactType === 'string' && doc.artifactType ? doc.artifactType : subject ? configType : undefined;
  const annotations = isJsonObject(doc.annotations) ? stringsOnly(doc.annotations) : undefined;
  return {
    ...(subject ? { subject } : {}),
    ...(artifactType ? { artifactType } : {}),
    ...(annotations ? { annotations } : {}),
  };
}

function stringsOnly(obj: Record<string, unknown>): Record<string, string> | undefined {
  const out = Object.fromEntries(Object.entries(obj).filter(([, v]) => typeof v === 'string')) as Record<
    string,
    string
  >;
  return Object.keys(out).length ? out : undefined;
}

export function listImageReferrers(ctx: Context, input: Input) {
  const repo = requireRepo(ctx, input);
  const subject: string = input.subjectId.imageDigest;
  const types: string[] | undefined = input.filter?.artifactTypes?.length ? input.filter.artifactTypes : undefined;
  const wantStatus: string = input.filter?.artifactStatus ?? 'ACTIVE';
  const all = Object.values(repo.images)
    .filter((img) => img.subject === subject)
    .filter((img) => !types || (img.artifactType !== undefined && types.includes(img.artifactType)))
    .filter((img) => wantStatus === 'ANY' || statusOf(img) === wantStatus)
    .sort((a, b) => a.pushedAt - b.pushedAt || (a.digest < b.digest ? -1 : 1));
  const { items, nextToken } = pageOf('ListImageReferrers', all, input.nextToken, input.maxResults);
  return {
    referrers: items.map((img) => ({
      digest: img.digest,
      mediaType: img.mediaType,
      ...(img.artifactType ? { artifactType: img.artifactType } : {}),
      size: Buffer.byteLength(img.manifest, 'utf8'),
      ...(img.annotations ? { annotations: img.annotations } : {}),
      artifactStatus: statusOf(img),
    })),
    ...(nextToken ? { nextToken } : {}),
  };
}
