/**
 * A client for one OCI distribution registry (Docker Hub, GHCR, Quay, ECR Public, a private `registry:2`): the
 * `/v2/` ping that decides https or (loopback or --insecure only) plain http, authentication as the registry's
 * challenge asks (bearer tokens per scope, basic), 429 / 5xx retried with Retry-After honoured, and the read and
 * write calls the registry source and sink need. Manifests are verified against their digest here; blob bytes are
 * returned as they come (the engine verifies them).
 */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { EcrxError } from '../core/errors.js';
import { backoffDelay, sleep } from '../core/retry.js';
import { safeUrl } from '../net/http.js';
import { acceptedManifestTypes } from '../oci/media-types.js';
import { MAX_MANIFEST_BYTES, checkManifestSize } from '../oci/limits.js';
import { sha256Digest } from '../oci/manifest.js';
import { basicAuth, fetchToken, parseChallenge, TokenCache, type Challenge } from './auth.js';
import { dockerCredentials, type Credentials } from './credentials.js';
import { networkError, registryError, type ErrorContext } from './errors.js';
import { isLoopbackRegistry, registryApiHost } from './reference.js';
import { Transport } from './transport.js';

export interface RegistryClientOptions {
  /** The registry as in a reference: `docker.io`, `ghcr.io`, `localhost:5000`. */
  registry: string;
  /** Allow plain HTTP and skip TLS verification, for any host (loopback registries may use HTTP without it). */
  insecure?: boolean;
  /** PEM certificates to trust for this registry besides the system's (SSL_CERT_FILE is added too). */
  ca?: string | Buffer;
  /** Credentials to use; null for anonymous; absent: the docker config's (and its credential helpers'). */
  credentials?: Credentials | null;
  /** Where DOCKER_CONFIG, HOME, PATH (for credential helpers) and SSL_CERT_FILE are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Attempts for a request that fails transiently (429, 5xx, a reset connection). Default 5. */
  maxAttempts?: number;
  /** The longest Retry-After honoured; a longer one fails with THROTTLED. Default 60 s. */
  maxRetryAfterMs?: number;
  onRetry?: (what: string, reason: string) => void;
  debug?: (line: string) => void;
}

export interface ManifestResponse {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

export interface RequestOp {
  method: string;
  /** A path on the registry (`/v2/...`) or an absolute URL (an upload's Location). */
  path: string | URL;
  headers?: Record<string, string>;
  /** A fresh body for each attempt. */
  body?: () => Buffer | Readable;
  /** The token scope: `repository:<name>:pull` or `repository:<name>:pull,push`. */
  scope: string;
  /** "Getting the manifest of ...", for messages. */
  what: string;
  signal?: AbortSignal;
  /** Retry transient failures (default: unless the body is a stream). */
  retry?: boolean;
  noRedirects?: boolean;
}

export const pullScope = (repository: string) => `repository:${repository}:pull`;
export const pushScope = (repository: string) => `repository:${repository}:pull,push`;

const TRANSIENT_STATUS = new Set([429, 502, 503, 504]);
const TRANSIENT_ERRNO = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

/** Retry-After as milliseconds: delta-seconds or an HTTP date. */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export class RegistryClient {
  readonly registry: string;
  readonly insecure: boolean;
  private readonly transport: Transport;
  private readonly tokens = new TokenCache();
  private readonly pendingTokens = new Map<string, Promise<string>>();
  private origin?: Promise<URL>;
  private challenge?: Challenge;
  private creds?: Promise<Credentials | undefined>;
  private readonly maxAttempts: number;
  private readonly maxRetryAfterMs: number;

  constructor(private readonly opts: RegistryClientOptions) {
    this.registry = opts.registry;
    this.insecure = Boolean(opts.insecure);
    this.transport = new Transport({ ca: opts.ca, insecure: opts.insecure, env: opts.env }, opts.debug);
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 5);
    this.maxRetryAfterMs = opts.maxRetryAfterMs ?? 60_000;
  }

  /** Whether plain http may be tried: loopback registries, or --insecure, as docker does. */
  get plainHttpAllowed(): boolean {
    return this.insecure || isLoopbackRegistry(this.registry);
  }

  /** `/v2/`: decides the scheme and learns the registry's challenge. Resolves with the registry's base URL. */
  ping(signal?: AbortSignal): Promise<URL> {
    this.origin ??= this.discover(signal).catch((err: unknown) => {
      this.origin = undefined;
      throw err;
    });
    return this.origin;
  }

  /**
   * https, then plain http where that is allowed and https found no TLS there. A loopback registry with a port is
   * asked over plain http first: a port that answers the ping over plain HTTP does not speak TLS, so https there
   * would only fail and fall back (a round trip, and TLS trust set up for nothing: ~40 ms of CPU with
   * SSL_CERT_FILE); any other answer, or none, and https is tried as before.
   */
  private async discover(signal?: AbortSignal): Promise<URL> {
    const host = registryApiHost(this.registry);
    const plainUrl = new URL(`http://${host}/v2/`);
    if (isLoopbackRegistry(this.registry) && /^(\[[^\]]+\]|[^:]+):\d+$/.test(host)) {
      const plain = await this.probe(plainUrl, signal);
      const status = plain.res?.statusCode;
      if (plain.res && (status === 200 || status === 401)) return this.pinged(plain.res, plainUrl.origin);
      let used = false;
      try {
        return await this.overHttps(host, signal, async () => ((used = true), plain));
      } finally {
        if (!used) plain.res?.resume();
      }
    }
    return this.overHttps(host, signal, this.plainHttpAllowed ? () => this.probe(plainUrl, signal) : undefined);
  }

  /** The https ping, and `plain`'s answer instead where https finds no TLS (when plain http is allowed at all). */
  private async overHttps(host: string, signal?: AbortSignal, plain?: () => Promise<Probe>): Promise<URL> {
    const secure = await this.probe(new URL(`https://${host}/v2/`), signal);
    if (secure.res) return this.pinged(secure.res, `https://${host}`);
    const err = secure.err;
    // A plain-HTTP server answers a TLS hello with garbage, and `localhost` without a port has nothing on 443:
    // try http, where that is allowed (as docker does). An untrusted certificate is not a reason to drop TLS.
    const refused = (err as NodeJS.ErrnoException)?.code === 'ECONNREFUSED';
    if (plain && (speaksPlainHttp(err) || refused)) {
      const fallback = await plain();
      if (fallback.res) return this.pinged(fallback.res, `http://${host}`);
      if (signal?.aborted) throw fallback.err;
      throw networkError(fallback.err, { what: `Connecting to ${this.registry}`, registry: this.registry });
    }
    if (signal?.aborted) throw err;
    if (!this.plainHttpAllowed && speaksPlainHttp(err))
      throw new EcrxError('NETWORK_ERROR', `${this.registry} does not speak HTTPS`, {
        hint: "ecrx uses plain HTTP only for loopback registries; --insecure allows it for this one (as docker's insecure-registries does).",
        cause: err,
      });
    throw networkError(err, { what: `Connecting to ${this.registry}`, registry: this.registry });
  }

  /** One GET /v2/: its response, or why it could not be sent. */
  private probe(url: URL, signal?: AbortSignal): Promise<Probe> {
    return this.transport.send(url, { method: 'GET', signal }).then(
      (res) => ({ res }),
      (err: unknown) => ({ err }),
    );
  }

  /** The registry's answer to the ping: its challenge learned, its base URL; anything but 200 or 401 refused. */
  private pinged(res: IncomingMessage, origin: string): URL {
    const status = res.statusCode ?? 0;
    res.resume();
    if (status === 401) this.challenge = parseChallenge(headerOf(res, 'www-authenticate'));
    else if (status !== 200)
      throw new EcrxError(
        'SERVICE_ERROR',
        `${this.registry} answered HTTP ${status} at ${safeUrl(`${origin}/v2/`)}, not as a registry`,
        {
          hint: 'Check the registry host; an OCI registry answers GET /v2/ with 200 or 401.',
        },
      );
    return new URL(origin);
  }

  private credentials(): Promise<Credentials | undefined> {
    if (this.opts.credentials === null) return Promise.resolve(undefined);
    if (this.opts.credentials) return Promise.resolve(this.opts.credentials);
    this.creds ??= dockerCredentials(this.registry, this.opts.env);
    return this.creds;
  }

  /** The Authorization header for a request within `scope`, fetching a token first when the registry wants one. */
  private async authorization(scope: string, signal?: AbortSignal): Promise<string | undefined> {
    const creds = await this.credentials();
    if (creds?.registryToken) return `Bearer ${creds.registryToken}`;
    if (this.challenge?.scheme === 'bearer') {
      const cached = this.tokens.get(scope);
      if (cached) return `Bearer ${cached}`;
      // Concurrent requests in one scope (a sink's HEADs) share one token request.
      let pending = this.pendingTokens.get(scope);
      if (!pending) {
        const challenge = this.challenge;
        pending = fetchToken(this.transport, challenge, scope, creds, this.registry, this.insecure, signal)
          .then((got) => {
            this.tokens.set(scope, got.token, got.expiresIn);
            return got.token;
          })
          .finally(() => this.pendingTokens.delete(scope));
        this.pendingTokens.set(scope, pending);
      }
      return `Bearer ${await pending}`;
    }
    if (this.challenge?.scheme === 'basic' && creds?.username !== undefined) return basicAuth(creds);
    return undefined;
  }

  /** Whether a 401 is worth one more try: the challenge is new, or the token expired. */
  private reauthenticate(res: IncomingMessage, scope: string): boolean {
    const challenge = parseChallenge(headerOf(res, 'www-authenticate'));
    if (!challenge) return false;
    this.challenge = challenge;
    this.tokens.clear(scope);
    return true;
  }

  async errorContext(what: string, notFound?: ErrorContext['notFound']): Promise<ErrorContext> {
    return { what, registry: this.registry, notFound, authenticated: (await this.credentials()) !== undefined };
  }

  /** One API call, authenticated, with transient failures retried. The caller reads (or resumes) the response. */
  async request(op: RequestOp): Promise<IncomingMessage> {
    const base = await this.ping(op.signal);
    const retry = op.retry ?? true;
    let reauthenticated = false;
    for (let attempt = 1; ;) {
      const url = typeof op.path === 'string' ? new URL(op.path, base) : op.path;
      // Our credentials go to the registry's own origin only, never to a Location elsewhere.
      const authorization = url.origin === base.origin ? await this.authorization(op.scope, op.signal) : undefined;
      let res: IncomingMessage;
      try {
        res = await this.transport.send(url, {
          method: op.method,
          headers: op.headers,
          body: op.body?.(),
          authorization,
          signal: op.signal,
          noRedirects: op.noRedirects,
        });
      } catch (err) {
        if (op.signal?.aborted || err instanceof EcrxError) throw err;
        const errno = (err as NodeJS.ErrnoException)?.code ?? '';
        if (retry && attempt < this.maxAttempts && TRANSIENT_ERRNO.has(errno)) {
          this.opts.onRetry?.(op.what, `${errno}; retrying`);
          await sleep(backoffDelay(attempt, 250, 5000), op.signal);
          attempt++;
          continue;
        }
        throw networkError(err, { what: op.what, registry: this.registry });
      }
      const status = res.statusCode ?? 0;
      if (status === 401 && !reauthenticated && url.origin === base.origin && this.reauthenticate(res, op.scope)) {
        res.resume();
        reauthenticated = true;
        continue;
      }
      if (TRANSIENT_STATUS.has(status) && retry && attempt < this.maxAttempts) {
        const asked = retryAfterMs(headerOf(res, 'retry-after'));
        if (asked === undefined || asked <= this.maxRetryAfterMs) {
          res.resume();
          const wait = asked ?? backoffDelay(attempt, 500, 10_000);
          this.opts.onRetry?.(op.what, `HTTP ${status}; retrying in ${(wait / 1000).toFixed(1)}s`);
          await sleep(wait, op.signal);
          attempt++;
          continue;
        }
      }
      return res;
    }
  }

  /** GET a manifest by tag or digest; its bytes hashed and checked against Docker-Content-Digest and the digest asked for. */
  async getManifest(repository: string, reference: string, signal?: AbortSignal): Promise<ManifestResponse> {
    const what = `Getting the manifest of ${this.name(repository, reference)}`;
    const res = await this.request({
      method: 'GET',
      path: `/v2/${repository}/manifests/${reference}`,
      headers: { accept: acceptedManifestTypes.join(', ') },
      scope: pullScope(repository),
      what,
      signal,
    });
    if (res.statusCode !== 200) throw await registryError(res, await this.errorContext(what, 'IMAGE_NOT_FOUND'));
    const declared = Number(headerOf(res, 'content-length') ?? 0);
    if (declared) checkManifestSize(declared, `The manifest of ${this.name(repository, reference)}`);
    const bytes = await readLimited(res, MAX_MANIFEST_BYTES, `The manifest of ${this.name(repository, reference)}`);
    const digest = sha256Digest(bytes);
    const claimed = headerOf(res, 'docker-content-digest');
    for (const [expected, source] of [
      [claimed, 'Docker-Content-Digest header'],
      [reference.startsWith('sha256:') ? reference : undefined, 'digest asked for'],
    ] as const) {
      if (expected && expected !== digest)
        throw new EcrxError(
          'DIGEST_MISMATCH',
          `The manifest of ${this.name(repository, reference)} does not match the ${source}: expected ${expected}, got ${digest}`,
          {
            details: { expected, actual: digest },
            hint: 'Nothing was written. The registry or something between it and you changed the bytes; try again, and report it if it persists.',
          },
        );
    }
    return { digest, mediaType: mediaTypeOf(res), bytes };
  }

  /** HEAD a manifest: its digest, media type and size, or undefined when there is none. */
  async headManifest(
    repository: string,
    reference: string,
    signal?: AbortSignal,
    scope = pullScope(repository),
  ): Promise<{ digest?: string; mediaType: string; size: number } | undefined> {
    const what = `Checking the manifest of ${this.name(repository, reference)}`;
    const res = await this.request({
      method: 'HEAD',
      path: `/v2/${repository}/manifests/${reference}`,
      headers: { accept: acceptedManifestTypes.join(', ') },
      scope,
      what,
      signal,
    });
    res.resume();
    if (res.statusCode === 404) return undefined;
    if (res.statusCode !== 200) throw await registryError(res, await this.errorContext(what, 'IMAGE_NOT_FOUND'));
    return {
      digest: headerOf(res, 'docker-content-digest'),
      mediaType: mediaTypeOf(res),
      size: Number(headerOf(res, 'content-length') ?? 0),
    };
  }

  /** HEAD a blob: whether the repository has it. */
  async hasBlob(
    repository: string,
    digest: string,
    signal?: AbortSignal,
    scope = pullScope(repository),
  ): Promise<boolean> {
    const what = `Checking blob ${digest} in ${this.registry}/${repository}`;
    const res = await this.request({ method: 'HEAD', path: `/v2/${repository}/blobs/${digest}`, scope, what, signal });
    res.resume();
    if (res.statusCode === 200) return true;
    if (res.statusCode === 404) return false;
    throw await registryError(res, await this.errorContext(what, 'LAYER_NOT_FOUND'));
  }

  /** GET a blob, from an offset when asked; follows the registry's redirect to blob storage without credentials. */
  async getBlob(
    repository: string,
    digest: string,
    opts: { offset?: number; length?: number; signal?: AbortSignal } = {},
  ): Promise<{ body: Readable; offset: number }> {
    const offset = opts.offset ?? 0;
    const ranged = offset > 0 || opts.length !== undefined;
    const end = opts.length !== undefined ? String(offset + opts.length - 1) : '';
    const what = `Downloading blob ${digest} from ${this.registry}/${repository}`;
    const res = await this.request({
      method: 'GET',
      path: `/v2/${repository}/blobs/${digest}`,
      headers: ranged ? { range: `bytes=${offset}-${end}` } : {},
      scope: pullScope(repository),
      what,
      signal: opts.signal,
    });
    if (res.statusCode === 200) return { body: res, offset: 0 };
    if (res.statusCode === 206) {
      const start = Number(/bytes\s+(\d+)-/.exec(headerOf(res, 'content-range') ?? '')?.[1] ?? NaN);
      if (start !== offset) {
        res.destroy();
        throw new EcrxError(
          'SERVICE_ERROR',
          `${what}: asked for bytes from ${offset}, the registry sent from ${start}`,
        );
      }
      return { body: res, offset };
    }
    throw await registryError(res, await this.errorContext(what, 'LAYER_NOT_FOUND'));
  }

  /** Every tag of a repository, following Link pagination. */
  async listTags(repository: string, opts: { pageSize?: number; signal?: AbortSignal } = {}): Promise<string[]> {
    const what = `Listing the tags of ${this.registry}/${repository}`;
    const tags: string[] = [];
    let path: string | URL = `/v2/${repository}/tags/list${opts.pageSize ? `?n=${opts.pageSize}` : ''}`;
    const base = await this.ping(opts.signal);
    for (let page = 0; page < 10_000; page++) {
      const res = await this.request({ method: 'GET', path, scope: pullScope(repository), what, signal: opts.signal });
      if (res.statusCode !== 200) throw await registryError(res, await this.errorContext(what, 'REPOSITORY_NOT_FOUND'));
      const doc = JSON.parse((await readLimited(res, 64 * 1024 * 1024, what)).toString('utf8')) as { tags?: unknown };
      if (Array.isArray(doc.tags)) for (const t of doc.tags) if (typeof t === 'string') tags.push(t);
      const next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(headerOf(res, 'link') ?? '')?.[1];
      if (!next) return tags;
      path = new URL(next, base);
      if (path.origin !== base.origin)
        throw new EcrxError('SERVICE_ERROR', `${what}: the next page is on another host`);
    }
    throw new EcrxError('SERVICE_ERROR', `${what}: more than 10000 pages`);
  }

  /** PUT a manifest with its exact bytes and media type; resolves with the digest the registry reports. */
  async putManifest(
    repository: string,
    reference: string,
    bytes: Buffer,
    mediaType: string,
    signal?: AbortSignal,
  ): Promise<string> {
    const what = `Putting the manifest ${this.name(repository, reference)}`;
    const digest = sha256Digest(bytes);
    const res = await this.request({
      method: 'PUT',
      path: `/v2/${repository}/manifests/${reference}`,
      headers: { 'content-type': mediaType },
      body: () => bytes,
      scope: pushScope(repository),
      what,
      signal,
    });
    res.resume();
    if (res.statusCode !== 201 && res.statusCode !== 200)
      throw await registryError(res, await this.errorContext(what, 'REPOSITORY_NOT_FOUND'));
    const reported = headerOf(res, 'docker-content-digest');
    if (reported && reported !== digest)
      throw new EcrxError('DIGEST_MISMATCH', `${what}: the registry stored ${reported}, not ${digest}`, {
        details: { expected: digest, actual: reported },
      });
    return digest;
  }

  name(repository: string, reference: string): string {
    return `${this.registry}/${repository}${reference.startsWith('sha256:') ? '@' : ':'}${reference}`;
  }

  close(): void {
    this.transport.close();
  }
}

export function headerOf(res: IncomingMessage, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function mediaTypeOf(res: IncomingMessage): string {
  return (headerOf(res, 'content-type') ?? '').split(';')[0].trim();
}

/** A ping's answer, or why there was none. */
type Probe = { res?: IncomingMessage; err?: unknown };

function speaksPlainHttp(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException;
  return (
    e?.code === 'EPROTO' || e?.code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number/i.test(e?.message ?? '')
  );
}

/** A small body read whole, refused past `limit` (a manifest, a tag list). */
export async function readLimited(res: IncomingMessage, limit: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of res) {
    n += (chunk as Buffer).length;
    if (n > limit) {
      res.destroy();
      throw new EcrxError('INVALID_IMAGE', `${what} is larger than ${limit} bytes; refused`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
