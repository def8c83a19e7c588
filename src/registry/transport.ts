/**
 * One registry connection's HTTP: keep-alive agents with the TLS trust it was given, proxies from HTTPS_PROXY /
 * HTTP_PROXY / NO_PROXY, an idle timeout, and redirects followed with credentials kept to the registry's own origin:
 * a blob redirected to S3, GCS or a CDN is fetched without the registry's Authorization header.
 *
 * Trust: the system's roots plus NODE_EXTRA_CA_CERTS (which Node reads itself at start-up), plus SSL_CERT_FILE or the
 * `ca` option when given (ecrx adds those certificates to Node's roots for registry connections only).
 */
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { EcrxError } from '../core/errors.js';
import { proxyAgentFor } from '../net/proxy.js';
import { MAX_REDIRECTS, readTimeoutMs, safeUrl } from '../net/http.js';

export interface TransportOptions {
  /** PEM certificates to trust besides the system's (a private CA or a self-signed registry certificate). */
  ca?: string | Buffer;
  /** Skip certificate verification (docker's insecure registries). */
  insecure?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface SendOptions {
  method: string;
  headers?: Record<string, string>;
  /** A fresh body for each attempt; absent for bodiless requests. */
  body?: Buffer | Readable;
  signal?: AbortSignal;
  /** Sent only to this origin; dropped when a redirect leaves it. */
  authorization?: string;
  /** Leave redirects to the caller (an upload's Location is not a redirect to follow). */
  noRedirects?: boolean;
}

type Connect = (options: tls.ConnectionOptions, done?: unknown) => unknown;

/**
 * An https agent trusting `ca`, with one TLS context for all its connections, built on the first: given `ca`
 * itself, Node parses every certificate again for each connection (a few hundred roots with SSL_CERT_FILE set:
 * ~40 ms of CPU per connection, many connections per sync).
 */
function sharedTrustAgent(options: https.AgentOptions, ca: string[]): https.Agent {
  const agent = new https.Agent(options);
  const own = agent as unknown as { createConnection: Connect };
  const connect = own.createConnection.bind(agent);
  let context: tls.SecureContext | undefined;
  own.createConnection = (opts, done) =>
    connect({ ...opts, secureContext: (context ??= tls.createSecureContext({ ca })) }, done);
  return agent;
}

export class Transport {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  private readonly httpsAgent: https.Agent;
  private readonly debug?: (line: string) => void;

  constructor(opts: TransportOptions = {}, debug?: (line: string) => void) {
    const env = opts.env ?? process.env;
    const extra: string[] = [];
    if (opts.ca) extra.push(opts.ca.toString());
    if (env.SSL_CERT_FILE) {
      try {
        extra.push(readFileSync(env.SSL_CERT_FILE, 'utf8'));
      } catch (err) {
        throw new EcrxError('VALIDATION_ERROR', `SSL_CERT_FILE names ${env.SSL_CERT_FILE}, which cannot be read`, {
          hint: 'Point SSL_CERT_FILE at a PEM file of CA certificates, or unset it.',
          cause: err,
        });
      }
    }
    const agentOptions = { keepAlive: true, maxSockets: 64, ...(opts.insecure ? { rejectUnauthorized: false } : {}) };
    this.httpsAgent = extra.length
      ? sharedTrustAgent(agentOptions, [...tls.rootCertificates, ...extra])
      : new https.Agent(agentOptions);
    this.debug = debug;
  }

  /** Sends one request, following redirects (up to MAX_REDIRECTS) unless told not to. */
  async send(url: URL, opts: SendOptions): Promise<http.IncomingMessage> {
    const origin = url.origin;
    let current = url;
    let method = opts.method;
    for (let hops = 0; ; hops++) {
      const sameOrigin = current.origin === origin;
      const res = await this.once(current, {
        ...opts,
        method,
        // A redirect to another host gets no credential of ours: it is pre-signed or public.
        authorization: sameOrigin ? opts.authorization : undefined,
      });
      const location = res.headers.location;
      if (opts.noRedirects || ![301, 302, 303, 307, 308].includes(res.statusCode ?? 0) || !location) return res;
      res.resume();
      if (hops >= MAX_REDIRECTS)
        throw new EcrxError('NETWORK_ERROR', `${safeUrl(url.href)} redirected more than ${MAX_REDIRECTS} times`, {
          hint: 'Something between ecrx and the registry (a proxy, a captive portal) may be redirecting in a loop.',
        });
      if (opts.body && !Buffer.isBuffer(opts.body))
        throw new EcrxError('SERVICE_ERROR', `${safeUrl(url.href)} redirected an upload, which cannot be replayed`);
      const next = new URL(location, current);
      if (next.protocol !== 'http:' && next.protocol !== 'https:')
        throw new EcrxError(
          'SERVICE_ERROR',
          `A redirect from ${safeUrl(current.href)} has the unsupported scheme '${next.protocol}'`,
        );
      // Leaving https for plain http would expose what follows; only a loopback test server may do that.
      if (current.protocol === 'https:' && next.protocol === 'http:')
        throw new EcrxError(
          'SERVICE_ERROR',
          `${safeUrl(current.href)} redirected to plain HTTP (${safeUrl(next.href)}); refused`,
        );
      if (res.statusCode === 303) method = 'GET';
      current = next;
    }
  }

  private once(u: URL, opts: SendOptions): Promise<http.IncomingMessage> {
    const secure = u.protocol === 'https:';
    const agent = proxyAgentFor(u) ?? (secure ? this.httpsAgent : this.httpAgent);
    const lib = secure ? https : http;
    const idle = readTimeoutMs();
    const headers: Record<string, string> = { 'user-agent': 'ecrx', ...(opts.headers ?? {}) };
    if (opts.authorization) headers.authorization = opts.authorization;
    if (Buffer.isBuffer(opts.body)) headers['content-length'] = String(opts.body.length);
    return new Promise((resolve, reject) => {
      const req = lib.request(u, { method: opts.method, agent, headers, signal: opts.signal }, (res) => {
        this.debug?.(`${opts.method} ${safeUrl(u.href)} -> ${res.statusCode}`);
        resolve(res);
      });
      req.setTimeout(idle, () =>
        req.destroy(
          Object.assign(new Error(`no data from ${safeUrl(u.href)} for ${idle / 1000}s`), { code: 'ETIMEDOUT' }),
        ),
      );
      req.on('error', reject);
      const body = opts.body;
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else {
        body.on('error', (err) => req.destroy(err));
        // A request that fails stops reading its source too (a file handle, a download).
        req.on('error', () => body.destroy());
        body.pipe(req);
      }
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
