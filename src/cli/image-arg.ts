/**
 * What an image argument of pull, inspect, export and copy names: an ECR image (a bare `repo:tag`, or an ECR URI),
 * read through the ECR API, or an image in another OCI distribution registry (`docker.io/library/alpine:3.20`,
 * `localhost:5000/x:y`, `ghcr.io/org/app@sha256:…`, ECR Public), read through the registry API. Parsing never
 * touches the network; what is not a valid reference at all stays a VALIDATION_ERROR.
 */
import { parseAnyReference, parseReference, type ImageRef } from '../core/reference.js';
import { parseRegistryReference, type RegistryRef } from '../registry/reference.js';
import { RegistrySource } from '../sources/registry.js';
import { RegistrySink } from '../sinks/registry.js';
import type { RegistryClientOptions } from '../registry/client.js';
import { Option } from 'commander';
import { printDebug } from './output.js';

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

/** `--insecure`, on the commands that read from (or write to) another registry. */
export const insecureOption = () =>
  new Option(
    '--insecure',
    'allow plain HTTP and unverified TLS for a registry that is not on loopback (as docker insecure-registries)',
  );
