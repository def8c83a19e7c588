/**
 * Opens a blob through ECR's pre-signed download URLs (GetDownloadUrlForLayer), at any byte range. One URL serves
 * every range of the blob until it stops working: a 403 (expired) or 404 asks for a fresh one, once for all the
 * ranges that saw the old one fail. Range is sent as `bytes=start-end`; the answer's Content-Range says where the
 * body starts (a 200 starts at 0: the server ignored Range) and how big the blob is. Only http(s), redirects and
 * the read timeout are net/http.ts's. Failures worth another try are TransientErrors; S3 SlowDown, 5xx and 429 also
 * mark throttling, so the run's connection budget shrinks.
 */
import type { IncomingMessage } from 'node:http';
import { EcrxError } from '../core/errors.js';
import { httpGet, readSmallBody, safeUrl, stallOf } from '../net/http.js';
import { isNetworkError } from './errors.js';

export interface OpenedRange {
  body: IncomingMessage;
  offset: number;
  total?: number;
  why: () => string | undefined;
}

/** A failure worth another attempt (structurally the store's TransientError: reason and options). */
export class BlobUrlRetry extends Error {
  constructor(
    readonly reason: string,
    readonly opts: { backoff?: boolean; throttle?: boolean } = {},
  ) {
    super(reason);
  }
}

export interface BlobUrlOpenerOptions {
  digest: string;
  size: number;
  /** A pre-signed URL for the blob; `fresh` asks for a new one (the last one expired or vanished). */
  getUrl: (fresh: boolean) => Promise<string>;
  /** Wraps transient failures in the caller's retry type. */
  retry?: (reason: string, opts: { backoff?: boolean; throttle?: boolean }) => Error;
}

export function blobUrlOpener(o: BlobUrlOpenerOptions) {
  let current: Promise<string> | undefined;
  let stale: string | undefined;
  let everHad = false;
  const retry = o.retry ?? ((reason, opts) => new BlobUrlRetry(reason, opts));
  /** The URL to use: a fresh one only if the URL that failed is still the current one (one refresh per expiry). */
  const urlFor = async (): Promise<string> => {
    const seen = current;
    const now = seen ? await seen.catch(() => undefined) : undefined;
    if (current !== seen) return urlFor(); // another range refreshed it meanwhile
    if (now !== undefined && now !== stale) return now;
    current = o.getUrl(now !== undefined || everHad);
    everHad = true;
    try {
      return await current;
    } catch (err) {
      current = undefined;
      throw err;
    }
  };

  async function open(range: { offset: number; length?: number }, signal: AbortSignal): Promise<OpenedRange> {
    const url = await urlFor();
    const ranged = range.offset > 0 || range.length !== undefined;
    const last = range.length !== undefined ? String(range.offset + range.length - 1) : '';
    let res: IncomingMessage;
    try {
      res = await httpGet(url, { headers: ranged ? { range: `bytes=${range.offset}-${last}` } : {}, signal });
    } catch (err) {
      if (signal.aborted || !isNetworkError(err)) throw err;
      throw retry(`connection failed: ${(err as Error).message} (resuming at byte ${range.offset})`, {});
    }
    const status = res.statusCode ?? 0;
    const why = () => stallOf(res);
    if (status === 200) return { body: res, offset: 0, total: contentLength(res), why };
    if (status === 206) {
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? '').trim());
      if (!m) {
        res.destroy();
        throw retry('the server answered 206 without a readable Content-Range', {});
      }
      return { body: res, offset: Number(m[1]), total: m[3] === '*' ? undefined : Number(m[3]), why };
    }
    if (status === 416) {
      // Asked for bytes past the blob's end: it is shorter than the manifest says.
      res.resume();
      const total = /\/(\d+)$/.exec(String(res.headers['content-range'] ?? ''))?.[1];
      throw new EcrxError(
        'SIZE_MISMATCH',
        `Blob ${o.digest} should be ${o.size} bytes but the registry's copy ${total ? `has ${total}` : 'is shorter'}`,
        {
          details: { expected: o.digest, expectedSize: o.size, ...(total ? { actualSize: Number(total) } : {}) },
          hint: 'The bytes were discarded and nothing was written. The registry holds a blob that does not match its descriptor.',
        },
      );
    }
    const body = await readSmallBody(res);
    const code = /<Code>([^<]+)<\/Code>/.exec(body)?.[1] ?? `HTTP ${status}`;
    const message = /<Message>([^<]+)<\/Message>/.exec(body)?.[1] ?? '';
    const what = `${code}${message ? `: ${message}` : ''}`;
    if (status === 403 || status === 404) {
      stale = url;
      throw retry(`${what} from ${safeUrl(url)}: asking ECR for a fresh URL`, { backoff: status === 404 });
    }
    if (status >= 500 || status === 429) throw retry(`${what} (HTTP ${status})`, { throttle: true });
    throw new EcrxError('SERVICE_ERROR', `Download of ${safeUrl(url)} failed: ${what} (HTTP ${status})`);
  }
  /** The next open asks ECR for a new URL (after wrong bytes, as a fresh start would). */
  const invalidate = () => {
    current = undefined;
  };
  return { open, invalidate };
}

function contentLength(res: IncomingMessage): number | undefined {
  const n = Number(res.headers['content-length'] ?? NaN);
  return Number.isSafeInteger(n) ? n : undefined;
}
