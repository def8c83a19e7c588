/**
 * Image references as people type and paste them: `repo`, `repo:tag`, `repo@sha256:…`, `ns/sub/repo:tag`, and
 * full ECR URIs `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]/<repo>[:tag|@digest]` or their dual-stack
 * forms `<account>.dkr-ecr[-fips].<region>.on.aws/…`. Parsing never touches the network; an invalid reference is a
 * VALIDATION_ERROR that shows what a valid one looks like, and a valid one for ECR Public or another registry is an
 * UNSUPPORTED_REGISTRY that says so.
 */
import { SHA256_DIGEST } from './digest.js';
import { EcrxError } from './errors.js';
import {
  classifyRegistryHost,
  ecrRegistryHost,
  foreignRegistryError,
  looksLikeHost,
  type RegistryHost,
} from './registry-host.js';

export interface ImageRef {
  repository: string;
  tag?: string;
  digest?: string;
  /** From a pasted URI: the account that owns the registry. */
  registryId?: string;
  /** From a pasted URI: the region of the registry. */
  region?: string;
  fips?: boolean;
  /** From a pasted dual-stack URI (`dkr-ecr.<region>.on.aws`): use the dual-stack API endpoint too. */
  dualStack?: boolean;
}

/** Any well-formed reference, with the registry it names (undefined: the default ECR registry). */
export interface AnyImageRef extends Omit<ImageRef, 'registryId' | 'region' | 'fips' | 'dualStack'> {
  registry?: RegistryHost;
}

const REPO_RE = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,299}$/;

const EXAMPLES =
  'for example my-app, my-app:1.2, team/my-app@sha256:<64 hex>, or 123456789012.dkr.ecr.us-east-1.amazonaws.com/my-app:1.2';

function invalid(input: string, why: string): EcrxError {
  return new EcrxError('VALIDATION_ERROR', `Invalid image reference '${input}': ${why}`, { hint: `Use ${EXAMPLES}.` });
}

/** An ECR image reference; ECR Public and other registries are refused with UNSUPPORTED_REGISTRY. */
export function parseReference(input: string, opts: { defaultTag?: string | false } = {}): ImageRef {
  const { registry, ...ref } = parseAnyReference(input, opts);
  if (!registry) return ref;
  if (registry.kind !== 'ecr') throw foreignRegistryError(input.trim(), registry, ref.repository);
  return {
    ...ref,
    registryId: registry.registryId,
    region: registry.region,
    fips: registry.fips,
    ...(registry.dualStack ? { dualStack: true } : {}),
  };
}

/** Any registry's reference, parsed by the same rules, for the code that decides what to do with a foreign one. */
export function parseAnyReference(input: string, opts: { defaultTag?: string | false } = {}): AnyImageRef {
  const text = input.trim();
  if (!text) throw invalid(input, 'it is empty');
  let rest = text.replace(/^[a-z]+:\/\//, (scheme) => {
    throw invalid(input, `drop the '${scheme}' prefix`);
  });
  const ref: Partial<AnyImageRef> = {};

  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  if (looksLikeHost(first)) {
    ref.registry = classifyRegistryHost(first);
    // A host that means to be ECR but is misspelt is a typo to fix, not another registry.
    if (ref.registry.kind === 'other' && /dkr[.-]ecr|amazonaws\.com|\.on\.aws$/i.test(first)) {
      throw invalid(
        input,
        `'${first}' is not an ECR registry host (<account>.dkr.ecr.<region>.amazonaws.com or <account>.dkr-ecr.<region>.on.aws)`,
      );
    }
    rest = rest.slice(slash + 1);
  }

  const parts = splitTagDigest(rest, (why) => invalid(input, why), { re: TAG_RE, most: 300 });
  if (parts.digest) ref.digest = parts.digest;
  if (parts.tag) ref.tag = parts.tag;
  rest = parts.name;
  if (!REPO_RE.test(rest)) {
    throw invalid(
      input,
      `'${rest}' is not a valid repository name (lowercase letters, digits, separators . _ - between them, / between path parts)`,
    );
  }
  if (ref.registry?.kind !== 'other' && (rest.length < 2 || rest.length > 256))
    throw invalid(input, 'a repository name is 2 to 256 characters long');
  ref.repository = rest;
  if (!ref.tag && !ref.digest && opts.defaultTag !== false) ref.tag = opts.defaultTag ?? 'latest';
  return ref as AnyImageRef;
}

/** The reference as a person would write it back: `repo:tag`, `repo@digest` or `repo:tag@digest`. */
export function formatReference(ref: Pick<ImageRef, 'repository' | 'tag' | 'digest'>): string {
  return `${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** The registry host an ECR reference lives on (the dual-stack form for a dual-stack reference). */
export function registryHost(registryId: string, region: string, fips = false, dualStack = false): string {
  return ecrRegistryHost(registryId, region, { fips, dualStack });
}

export function isValidRepository(name: string): boolean {
  return REPO_RE.test(name) && name.length >= 2 && name.length <= 256;
}

export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

/**
 * Splits `name[:tag][@digest]`, checking the digest (sha256 only) and the tag by the registry's rule (ECR allows
 * 300 characters, the OCI distribution spec 128). Shared by ECR and registry references.
 */
export function splitTagDigest(
  text: string,
  fail: (why: string) => Error,
  tagRule: { re: RegExp; most: number },
): { name: string; tag?: string; digest?: string } {
  let name = text;
  let digest: string | undefined;
  let tag: string | undefined;
  const at = name.indexOf('@');
  if (at >= 0) {
    digest = name.slice(at + 1);
    if (!SHA256_DIGEST.test(digest)) throw fail(`'${digest}' is not a digest of the form sha256:<64 lowercase hex>`);
    name = name.slice(0, at);
  }
  const colon = name.lastIndexOf(':');
  if (colon >= 0) {
    tag = name.slice(colon + 1);
    if (!tagRule.re.test(tag))
      throw fail(
        `'${tag}' is not a valid tag (letters, digits, _ . -, up to ${tagRule.most}, not starting with . or -)`,
      );
    name = name.slice(0, colon);
  }
  return { name, tag, digest };
}
