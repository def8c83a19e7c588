/**
 * Plain HTTP(S) GETs for pre-signed blob URLs: keep-alive agents, no Authorization header and no AWS credentials
 * ever, proxies from HTTPS_PROXY/HTTP_PROXY/NO_PROXY, and URLs shown without their query string.
 */
import http from 'node:http';
import https from 'node:https';
import { proxyAgentFor } from './proxy.js';
import { EcrxError } from '../core/errors.js';

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 64 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 64 }),
};

/** The URL without its query string: what may be printed about a pre-signed URL. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}${u.search ? '?[redacted]' : ''}`;
  } catch {
    return '[unparseable URL]';
  }
}

let debugSink: ((line: string) => void) | undefined;

/** --debug: one line per blob request, with the URL's query (its signature) left out. */
export function setHttpDebug(sink: ((line: string) => void) | undefined): void {
  debugSink = sink;
}

export interface GetOptions {
  headers?: Record<string, string>;
  method?: 'GET' | 'HEAD';
  signal?: AbortSignal;
  /** Fail when no byte arrives for this long (default: readTimeoutMs()). */
  idleTimeoutMs?: number;
}

/**
 * How long a connection may stay silent before it counts as a failed attempt: ECRX_READ_TIMEOUT seconds, else 60.
 * Applies to blob downloads and ECR API calls alike.
 */
export function readTimeoutMs(): number {
  const raw = process.env.ECRX_READ_TIMEOUT;
  if (raw === undefined || raw === '') return 60_000;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) {
    throw new EcrxError(
      'VALIDATION_ERROR',
      `ECRX_READ_TIMEOUT must be a number of seconds from 0.1 to 3600, got '${raw}'`,
      { hint: 'Unset it for the default of 60 seconds.' },
    );
  }
  return Math.max(100, Math.round(seconds * 1000));
}

/** Redirects followed for one request: S3 may send one (a 307 to a bucket's region); more than a few is a loop. */
export const MAX_REDIRECTS = 5;

/**
 * Only http and https are ever fetched. A URL handed over by a server (a download URL, a redirect) with another
 * scheme (file:, ftp:, data:) is the server's error, refused before anything is opened: a file: URL must never
 * make ecrx read a local file.
 */
function parseDownloadUrl(url: string, what: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new EcrxError('SERVICE_ERROR', `${what} is not a valid URL`, {
      hint: 'Nothing was downloaded. Check --endpoint-url: does it point at ECR (or a faithful emulator)?',
    });
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new EcrxError(
      'SERVICE_ERROR',
      `${what} has the unsupported scheme '${u.protocol}'; ecrx only follows http and https URLs`,
      {
        hint: 'Nothing was read from it. Check --endpoint-url: does it point at ECR (or a faithful emulator)?',
        details: { scheme: u.protocol },
      },
    );
  }
  return u;
}

/**
 * GET (or HEAD) of a pre-signed URL, following up to MAX_REDIRECTS http(s) redirects with the same headers.
 * Resolves with the first response that is not a redirect.
 */
export async function httpGet(url: string, opts: GetOptions = {}): Promise<http.IncomingMessage> {
  let current = parseDownloadUrl(url, 'The download URL');
  for (let hops = 0; ; hops++) {
    const res = await requestOnce(current, opts);
    const location = res.headers.location;
    if (![301, 302, 303, 307, 308].includes(res.statusCode ?? 0) || !location) return res;
    res.resume();
    if (hops >= MAX_REDIRECTS) {
      throw new EcrxError(
        'NETWORK_ERROR',
        `${safeUrl(url)} redirected more than ${MAX_REDIRECTS} times (a redirect loop; last to ${safeUrl(new URL(location, current).href)})`,
        {
          hint: 'Nothing was downloaded. Something between ecrx and the blob store (a proxy, a captive portal) may be redirecting; check HTTPS_PROXY/NO_PROXY.',
        },
      );
    }
    let next: string;
    try {
      next = new URL(location, current).href;
    } catch {
      next = location;
    }
    current = parseDownloadUrl(next, `A redirect from ${safeUrl(current.href)}`);
  }
}

const stalls = new WeakMap<http.IncomingMessage, string>();

/** Why a response's body was cut by ecrx itself (it went silent for too long), if it was. */
export function stallOf(res: http.IncomingMessage): string | undefined {
  return stalls.get(res);
}

function requestOnce(u: URL, opts: GetOptions): Promise<http.IncomingMessage> {
  const url = u.href;
  const secure = u.protocol === 'https:';
  const lib = secure ? https : http;
  const agent = proxyAgentFor(u) ?? (secure ? agents.https : agents.http);
  const idle = opts.idleTimeoutMs ?? readTimeoutMs();
  return new Promise((resolve, reject) => {
    const req = lib.request(
      u,
      {
        method: opts.method ?? 'GET',
        agent,
        // Only what S3 needs. Never an Authorization header: the signature is in the query.
        headers: { 'user-agent': 'ecrx', ...(opts.headers ?? {}) },
        signal: opts.signal,
      },
      (res) => {
        response = res;
        debugSink?.(
          `${opts.method ?? 'GET'} ${safeUrl(url)}${opts.headers?.range ? ` range ${opts.headers.range}` : ''}${agent !== agents.http && agent !== agents.https ? ' via proxy' : ''} -> ${res.statusCode}`,
        );
        resolve(res);
      },
    );
    // The socket's idle timer runs while the body streams too: a body that stalls is cut, and the reason kept.
    let response: http.IncomingMessage | undefined;
    req.setTimeout(idle, () => {
      const reason = `no data from ${safeUrl(url)} for ${idle / 1000}s`;
      if (response) stalls.set(response, reason);
      req.destroy(Object.assign(new Error(reason), { code: 'ETIMEDOUT' }));
    });
    req.on('error', reject);
    req.end();
  });
}

export async function readSmallBody(res: http.IncomingMessage, limit = 64 * 1024): Promise<string> {
  let out = '';
  try {
    for await (const chunk of res) {
      if (out.length < limit) out += chunk.toString('utf8');
    }
  } catch {
    // the body of an error answer is only informative
  }
  return out.slice(0, limit);
}
