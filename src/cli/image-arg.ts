/**
 * What an image argument of pull, inspect, export and copy names: an ECR image (a bare `repo:tag`, or an ECR URI),
 * read through the ECR API, or an image in another OCI distribution registry (`docker.io/library/alpine:3.20`,
 * `localhost:5000/x:y`, `ghcr.io/org/app@sha256:…`, ECR Public), read through the registry API. Parsing never
 * touches the network; what is not a valid reference at all stays a VALIDATION_ERROR.
 */
import { parseAnyReference, parseReference, type ImageRef } from '../core/reference.js';
import { formatRegistryReference } from '../registry/reference.js';
import { parseRegistryReference, type RegistryRef } from '../registry/reference.js';
import { RegistrySource } from '../sources/registry.js';
import { RegistrySink } from '../sinks/registry.js';
import type { RegistryClientOptions } from '../registry/client.js';
import { printDebug } from './output.js';
import { registryHost } from '../core/reference.js';
import { EcrSource } from '../sources/ecr.js';
import type { Ecr } from '../ecr/client.js';
import { createReporter } from '../report/create-reporter.js';
import { reporterKind, type Reporter } from '../report/reporter.js';
import { openSession } from './session.js';
import type { EcrFlags } from './common.js';

export type ImageArg = { kind: 'ecr'; ref: ImageRef } | { kind: 'registry'; ref: RegistryRef };

export function parseImageArg(text: string, opts: { defaultTag?: string | false } = {}): ImageArg {
  const any = parseAnyReference(text, opts);
  if (!any.registry || any.registry.kind === 'ecr') return { kind: 'ecr', ref: parseReference(text, opts) };
  return { kind: 'registry', ref: parseRegistryReference(text, opts) };
}

export interface RegistryFlags {
  /** Plain HTTP and unverified TLS for a registry that is not on loopback (docker's insecure-registries). */
  insecure?: boolean;
  debug?: boolean;
}

type Notify = { retry(what: string, why: string): void };

function clientOptions(flags: RegistryFlags, events?: Notify): Omit<RegistryClientOptions, 'registry'> {
  return {
    insecure: flags.insecure,
    onRetry: events ? (what, why) => events.retry(what, why) : undefined,
    debug: flags.debug ? printDebug : undefined,
  };
}

export function registrySource(text: string, flags: RegistryFlags, events?: Notify): RegistrySource {
  return RegistrySource.open(text, clientOptions(flags, events));
}

export function registrySink(text: string, flags: RegistryFlags, events?: Notify): RegistrySink {
  return RegistrySink.open(text, clientOptions(flags, events));
}

/** The reporter, and an ECR connection only for an ECR image: a registry pull needs no AWS credentials. */
export async function openSide(
  arg: ImageArg,
  flags: EcrFlags & RegistryFlags,
  prefix: string,
): Promise<{ reporter: Reporter; ecr?: Ecr }> {
  if (arg.kind === 'ecr') return openSession(flags, prefix, arg.ref);
  return { reporter: await createReporter(reporterKind(flags), prefix) };
}

/** The image source, the host its names carry, and (ECR) the registry id once resolved. */
export async function sourceOf(
  arg: ImageArg,
  ecr: Ecr | undefined,
  flags: EcrFlags & RegistryFlags,
  reporter: Reporter,
) {
  if (arg.kind === 'registry') {
    const source = registrySource(formatRegistryReference(arg.ref), flags, reporter);
    return { source, host: arg.ref.registry, registryId: () => '' };
  }
  const source = new EcrSource(ecr!, arg.ref);
  const region = await ecr!.region();
  // The host is known only once the registry id is (from the URI, or from the first answer).
  return {
    source,
    get host() {
      return registryHost(source.registryId ?? arg.ref.registryId ?? '', region, arg.ref.fips, arg.ref.dualStack);
    },
    registryId: () => source.registryId ?? '',
  };
}
