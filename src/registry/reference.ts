/**
 * References to images in any OCI distribution registry, by docker's rules: `alpine` is
 * docker.io/library/alpine:latest, the first path part is a registry host when it has a dot or a port or is
 * `localhost`, and docker.io is reached at registry-1.docker.io. Parsing never touches the network.
 */
import { EcrxError } from '../core/errors.js';
import { splitTagDigest } from '../core/reference.js';

export interface RegistryRef {
  /** The registry as written (lowercased host, optional port): `docker.io`, `ghcr.io`, `localhost:5000`. */
  registry: string;
  /** The repository within it: `library/alpine`, `org/app`. */
  repository: string;
  tag?: string;
  digest?: string;
}

export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/** distribution's path component: lowercase alphanumerics joined by `.`, `_`, `__` or runs of `-`. */
const COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const REPO_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** A host name or IPv4 address, or a bracketed IPv6 address, with an optional port. */
const HOST_RE =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

const EXAMPLES =
  'for example alpine, docker.io/library/alpine:3.20, ghcr.io/org/app@sha256:<64 hex> or localhost:5000/x:y';

function invalid(input: string, why: string): EcrxError {
  return new EcrxError('VALIDATION_ERROR', `Invalid image reference '${input}': ${why}`, { hint: `Use ${EXAMPLES}.` });
}

/** Whether the first path part of a reference names a registry host (docker's rule). */
function isHostPart(part: string): boolean {
  return part.includes('.') || part.includes(':') || part === 'localhost' || part.startsWith('[');
}

export function parseRegistryReference(input: string, opts: { defaultTag?: string | false } = {}): RegistryRef {
  const text = input.trim();
  if (!text) throw invalid(input, 'it is empty');
  if (/^[a-z]+:\/\//i.test(text)) throw invalid(input, `drop the '${/^[a-z]+:\/\//i.exec(text)![0]}' prefix`);
  let rest = text;
  let registry = DOCKER_HUB;
  const slash = rest.indexOf('/');
  if (slash > 0 && isHostPart(rest.slice(0, slash))) {
    const host = rest.slice(0, slash);
    if (!HOST_RE.test(host)) throw invalid(input, `'${host}' is not a valid registry host`);
    const port = /:(\d+)$/.exec(host)?.[1];
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535))
      throw invalid(input, `'${port}' is not a valid port`);
    registry = DOCKER_HUB_ALIASES.has(host.toLowerCase()) ? DOCKER_HUB : host.toLowerCase();
    rest = rest.slice(slash + 1);
  }
  const ref: Partial<RegistryRef> = { registry };
  const parts = splitTagDigest(rest, (why) => invalid(input, why), { re: TAG_RE, most: 128 });
  if (parts.digest) ref.digest = parts.digest;
  if (parts.tag) ref.tag = parts.tag;
  rest = parts.name;
  if (!REPO_RE.test(rest))
    throw invalid(
      input,
      `'${rest}' is not a valid repository name (lowercase letters, digits, separators . _ - between them, / between path parts)`,
    );
  if (rest.length > 255) throw invalid(input, 'a repository name is at most 255 characters long');
  // Docker Hub's official images live under library/.
  ref.repository = registry === DOCKER_HUB && !rest.includes('/') ? `library/${rest}` : rest;
  if (!ref.tag && !ref.digest && opts.defaultTag !== false) ref.tag = opts.defaultTag ?? 'latest';
  return ref as RegistryRef;
}

/** The reference in full, as it can be pasted back: `docker.io/library/alpine:3.20`. */
export function formatRegistryReference(ref: RegistryRef): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** Where the registry's API answers: docker.io's API is at registry-1.docker.io. */
export function registryApiHost(registry: string): string {
  return registry === DOCKER_HUB ? 'registry-1.docker.io' : registry;
}

/** The host name without port or brackets: `::1` for `[::1]:5000`. */
export function hostName(registry: string): string {
  const bracket = /^\[([^\]]+)\]/.exec(registry);
  if (bracket) return bracket[1].toLowerCase();
  return registry.replace(/:\d+$/, '').toLowerCase();
}

/** Loopback registries (127.0.0.0/8, ::1, localhost) may be reached over plain HTTP, as docker allows. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = hostName(registry);
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) ||
    host === '::1' ||
    host === '0:0:0:0:0:0:0:1'
  );
}
