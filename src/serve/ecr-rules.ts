/**
 * Rules ECR enforces beyond its published model, with the words its errors use. The model gives `ImageTag` only a
 * length (1-300) and `ImageDigest` no pattern; the service itself answers
 * `Invalid parameter at 'imageTag' failed to satisfy constraint: 'must satisfy regular expression '[a-zA-Z0-9-_.]+''`
 * and the same for digests with `[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+`. A tag may begin with `-` or `.`: ECR's expression
 * allows it (stricter OCI/Docker tag rules are the client's business, not the registry API's).
 */
import { invalidParameterAt } from './api-error.js';

export const TAG_PATTERN = '[a-zA-Z0-9-_.]+';
export const DIGEST_PATTERN = '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+';

const TAG_RE = /^[a-zA-Z0-9_.-]+$/;
const DIGEST_RE = /^[a-zA-Z0-9_+.-]+:[a-fA-F0-9]+$/;

export const isValidTag = (tag: string) => TAG_RE.test(tag);
export const isValidDigest = (digest: string) => DIGEST_RE.test(digest);

/** InvalidParameterException for a tag or digest a request names directly (PutImage, DescribeImages). */
export function requireValidTag(tag: string | undefined, member = 'imageTag'): void {
  if (tag !== undefined && !isValidTag(tag))
    throw invalidParameterAt(member, `must satisfy regular expression '${TAG_PATTERN}'`);
}

export function requireValidDigest(digest: string | undefined, member = 'imageDigest'): void {
  if (digest !== undefined && !isValidDigest(digest))
    throw invalidParameterAt(member, `must satisfy regular expression '${DIGEST_PATTERN}'`);
}
