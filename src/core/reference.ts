/**
 * Image references as people type and paste them: `repo`, `repo:tag`, `repo@sha256:…`, `ns/sub/repo:tag`, and
 * full ECR URIs `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]/<repo>[:tag|@digest]`. Parsing never touches
 * the network; an invalid reference is a VALIDATION_ERROR that shows what a valid one looks like.
 */
import { EcrxError } from './errors.js';

export interface ImageRef {
  repository: string;
  tag?: string;
  digest?: string;
  /** From a pasted URI: the account that owns the registry. */
  registryId?: string;
  /** From a pasted URI: the region of the registry. */
  region?: string;
  fips?: boolean;
}

const REPO_RE = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,299}$/;
export const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
const URI_RE = /^(\d{12})\.dkr\.ecr(-fips)?\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/;

const EXAMPLES = 'for example my-app, my-app:1.2, team/my-app@sha256:<64 hex>, or 123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app:1.2';

function invalid(input: string, why: string): EcrxError {
  return new EcrxError('VALIDATION_ERROR', `Invalid image reference '${input}': ${why}`, { hint: `Use ${EXAMPLES}.` });
}

export function parseReference(input: string, opts: { defaultTag?: string | false } = {}): ImageRef {
  const text = input.trim();
  if (!text) throw invalid(input, 'it is empty');
  let rest = text.replace(/^[a-z]+:\/\//, (scheme) => {
    throw invalid(input, `drop the '${scheme}' prefix`);
  });
  const ref: Partial<ImageRef> = {};

  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  if (first.includes('.') || first.includes(':') || first === 'localhost') {
    const m = URI_RE.exec(first);
    if (!m) throw invalid(input, `'${first}' is not an ECR registry host (<account>.dkr.ecr.<region>.amazonaws.com)`);
    ref.registryId = m[1];
    ref.fips = Boolean(m[2]);
    ref.region = m[3];
    rest = rest.slice(slash + 1);
  }

  const at = rest.indexOf('@');
  if (at >= 0) {
    const digest = rest.slice(at + 1);
    if (!DIGEST_RE.test(digest)) throw invalid(input, `'${digest}' is not a digest of the form sha256:<64 lowercase hex>`);
    ref.digest = digest;
    rest = rest.slice(0, at);
  }
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    const tag = rest.slice(colon + 1);
    if (!TAG_RE.test(tag)) throw invalid(input, `'${tag}' is not a valid tag (letters, digits, _ . -, up to 300, not starting with . or -)`);
    ref.tag = tag;
    rest = rest.slice(0, colon);
  }
  if (!REPO_RE.test(rest)) {
    throw invalid(input, `'${rest}' is not a valid repository name (lowercase letters, digits, separators . _ - between them, / between path parts)`);
  }
  if (rest.length < 2 || rest.length > 256) throw invalid(input, 'a repository name is 2 to 256 characters long');
  ref.repository = rest;
  if (!ref.tag && !ref.digest && opts.defaultTag !== false) ref.tag = opts.defaultTag ?? 'latest';
  return ref as ImageRef;
}

/** The reference as a person would write it back: `repo:tag`, `repo@digest` or `repo:tag@digest`. */
export function formatReference(ref: Pick<ImageRef, 'repository' | 'tag' | 'digest'>): string {
  return `${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** The registry host an ECR reference lives on. */
export function registryHost(registryId: string, region: string, fips = false): string {
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `${registryId}.dkr.ecr${fips ? '-fips' : ''}.${region}.${suffix}`;
}

export function isValidRepository(name: string): boolean {
  return REPO_RE.test(name) && name.length >= 2 && name.length <= 256;
}

export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}
