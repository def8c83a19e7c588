/**
 * Plain HTTP(S) GETs for pre-signed blob URLs: keep-alive agents, no Authorization header and no AWS credentials
 * ever, proxies from HTTPS_PROXY/HTTP_PROXY/NO_PROXY, and URLs shown without their query string.
 */
import http from 'node:http';
import https from 'node:https';
import { proxyAgentFor } from './proxy.js';

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
  /** Fail when no byte arrives for this long. */
  idleTimeoutMs?: number;
}

export function httpGet(url: string, opts: GetOptions = {}): Promise<http.IncomingMessage> {
  const u = new URL(url);
  const secure = u.protocol === 'https:';
  const lib = secure ? https : http;
  const agent = proxyAgentFor(u) ?? (secure ? agents.https : agents.http);
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
        debugSink?.(`${opts.method ?? 'GET'} ${safeUrl(url)}${opts.headers?.range ? ` range ${opts.headers.range}` : ''}${agent !== agents.http && agent !== agents.https ? ' via proxy' : ''} -> ${res.statusCode}`);
        resolve(res);
      },
    );
    req.setTimeout(opts.idleTimeoutMs ?? 60_000, () => req.destroy(Object.assign(new Error(`no data from ${safeUrl(url)} for ${(opts.idleTimeoutMs ?? 60_000) / 1000}s`), { code: 'ETIMEDOUT' })));
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
