/**
 * The registry part of a pasted reference, told apart: a private ECR registry in any of its host forms (classic,
 * FIPS, China, and the dual-stack `dkr-ecr` hosts that answer over IPv4 and IPv6), ECR Public, or another registry.
 * ecrx speaks the ECR API, so only the first is something it can reach; the others are named for what they are.
 */
import { EcrxError } from './errors.js';

export type RegistryHost =
  | { kind: 'ecr'; host: string; registryId: string; region: string; fips: boolean; dualStack: boolean }
  | { kind: 'ecr-public'; host: string }
  | { kind: 'other'; host: string };

/** `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]` */
const CLASSIC_RE = /^(\d{12})\.dkr\.ecr(-fips)?\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/;
/** `<account>.dkr-ecr[-fips].<region>.on.aws`, and China's `<account>.dkr-ecr.<region>.on.amazonwebservices.com.cn` */
const DUAL_STACK_RE = /^(\d{12})\.dkr-ecr(-fips)?\.([a-z0-9-]+)\.on\.(?:aws|amazonwebservices\.com\.cn)$/;
const PUBLIC_HOSTS = new Set(['public.ecr.aws', 'ecr-public.aws']);

/** Whether the first path part of a reference is a registry host rather than a repository namespace (docker's rule). */
export function looksLikeHost(part: string): boolean {
  return part.includes('.') || part.includes(':') || part === 'localhost';
}

export function classifyRegistryHost(host: string): RegistryHost {
  const lower = host.toLowerCase();
  const classic = CLASSIC_RE.exec(lower);
  if (classic)
    return {
      kind: 'ecr',
      host: lower,
      registryId: classic[1],
      region: classic[3],
      fips: Boolean(classic[2]),
      dualStack: false,
    };
  const dual = DUAL_STACK_RE.exec(lower);
  if (dual)
    return { kind: 'ecr', host: lower, registryId: dual[1], region: dual[3], fips: Boolean(dual[2]), dualStack: true };
  if (PUBLIC_HOSTS.has(lower)) return { kind: 'ecr-public', host: lower };
  return { kind: 'other', host };
}

/** The registry host of a private ECR registry, in the form asked for. */
export function ecrRegistryHost(
  registryId: string,
  region: string,
  opts: { fips?: boolean; dualStack?: boolean } = {},
): string {
  const china = region.startsWith('cn-');
  if (opts.dualStack)
    return `${registryId}.dkr-ecr${opts.fips ? '-fips' : ''}.${region}.on.${china ? 'amazonwebservices.com.cn' : 'aws'}`;
  return `${registryId}.dkr.ecr${opts.fips ? '-fips' : ''}.${region}.${china ? 'amazonaws.com.cn' : 'amazonaws.com'}`;
}

/** The error for a well-formed reference to a registry ecrx does not speak to (UNSUPPORTED_REGISTRY, exit 2). */
export function foreignRegistryError(
  input: string,
  registry: Exclude<RegistryHost, { kind: 'ecr' }>,
  repository?: string,
): EcrxError {
  const details = { registry: registry.host, registryKind: registry.kind, ...(repository ? { repository } : {}) };
  if (registry.kind === 'ecr-public') {
    return new EcrxError(
      'UNSUPPORTED_REGISTRY',
      `'${input}' is an Amazon ECR Public image (${registry.host}); ecrx works with private ECR registries through the ECR API`,
      {
        hint: 'Pull it with a registry client (skopeo copy docker://… oci:DIR), then `ecrx push DIR my-repo:tag` to put it in your private registry.',
        details,
      },
    );
  }
  return new EcrxError(
    'UNSUPPORTED_REGISTRY',
    `'${input}' names the registry ${registry.host}, which is not an Amazon ECR registry; ecrx moves images through the ECR API only`,
    {
      hint: 'Copy it into an OCI layout with a registry client (skopeo copy docker://… oci:DIR), then `ecrx push DIR my-repo:tag`.',
      details,
    },
  );
}
