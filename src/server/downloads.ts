/**
 * The S3 side of the emulator: pre-signed download URLs, signed with a key only this process knows, verified,
 * expiring, and served by streaming from disk with Range and HEAD, answering errors in S3's XML.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { randomBytes } from 'node:crypto';
import type { Context } from './context.js';
import { formatAmzDate, parseAmzDate, presignSignature, safeEqualHex } from './sigv4.js';

export const DOWNLOAD_PREFIX = '/starport-layer-bucket/';
const SIGNER_KEY_ID = 'ASIAECRXSERVE0000000';

export class Presigner {
  private readonly secret = randomBytes(32).toString('hex');

  constructor(private readonly region: string, private readonly ttlSeconds: number) {}

  sign(baseUrl: string, registryId: string, repositoryName: string, digest: string): string {
    const url = new URL(`${DOWNLOAD_PREFIX}${registryId}/${repositoryName}/${digest}`, baseUrl);
    const now = new Date();
    const q = url.searchParams;
    q.set('X-Amz-Algorithm', 'AWS4-HMAC-SHA256');
    q.set('X-Amz-Credential', `${SIGNER_KEY_ID}/${formatAmzDate(now).slice(0, 8)}/${this.region}/s3/aws4_request`);
    q.set('X-Amz-Date', formatAmzDate(now));
    q.set('X-Amz-Expires', String(this.ttlSeconds));
    q.set('X-Amz-SignedHeaders', 'host');
    q.set('X-Amz-Signature', presignSignature(url.pathname, q, url.host, this.secret));
    return url.toString();
  }

  /** Undefined when the URL is good; otherwise the S3 error to answer. */
  check(path: string, query: URLSearchParams, host: string): S3Error | undefined {
    const required = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature'];
    if (required.some((k) => !query.get(k))) return { status: 403, code: 'AccessDenied', message: 'Access Denied' };
    const expected = presignSignature(path, query, host, this.secret);
    if (!safeEqualHex(expected, query.get('X-Amz-Signature')!)) {
      return { status: 403, code: 'SignatureDoesNotMatch', message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.' };
    }
    const date = parseAmzDate(query.get('X-Amz-Date')!);
    const expires = Number(query.get('X-Amz-Expires'));
    if (!date || !Number.isFinite(expires) || Date.now() > date.getTime() + expires * 1000) {
      return { status: 403, code: 'AccessDenied', message: 'Request has expired' };
    }
    return undefined;
  }
}

export interface S3Error {
  status: number;
  code: string;
  message: string;
}

export function sendS3Error(res: ServerResponse, err: S3Error, method: string): void {
  const requestId = randomBytes(8).toString('hex').toUpperCase();
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${err.code}</Code><Message>${err.message}</Message><RequestId>${requestId}</RequestId></Error>`;
  res.writeHead(err.status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body), 'x-amz-request-id': requestId });
  res.end(method === 'HEAD' ? undefined : body);
}

export type DownloadLog = (status: number, note?: string) => void;

/** Paces a response to a byte rate, as a slow link would. */
class Pace extends Transform {
  private readonly started = Date.now();
  private sent = 0;
  constructor(private readonly bytesPerSecond: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.sent += chunk.length;
    const due = this.started + (this.sent / this.bytesPerSecond) * 1000;
    setTimeout(() => cb(null, chunk), Math.max(0, due - Date.now()));
  }
}

export function serveDownload(ctx: Context, presigner: Presigner, req: IncomingMessage, res: ServerResponse, url: URL, log: DownloadLog = () => undefined): void {
  const method = req.method ?? 'GET';
  const fail = (err: S3Error) => {
    log(err.status, err.code);
    sendS3Error(res, err, method);
  };
  if (method !== 'GET' && method !== 'HEAD') {
    return fail({ status: 405, code: 'MethodNotAllowed', message: 'The specified method is not allowed against this resource.' });
  }
  // A client must send no AWS credentials to the download host; the log says so when one does.
  const credentialHeaders = ['x-amz-security-token', 'x-amz-date', 'x-amz-content-sha256'].filter((h) => req.headers[h] !== undefined);
  if (credentialHeaders.length) log(0, `credentials-in-request: ${credentialHeaders.join(',')}`);
  if (req.headers.authorization) {
    return fail({ status: 400, code: 'InvalidArgument', message: 'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified' });
  }
  const bad = presigner.check(url.pathname, url.searchParams, req.headers.host ?? '');
  if (bad) return fail(bad);
  if (ctx.faults.expire()) return fail({ status: 403, code: 'AccessDenied', message: 'Request has expired' });
  if (ctx.faults.slowdown()) return fail({ status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' });

  const digest = url.pathname.slice(url.pathname.lastIndexOf('/') + 1);
  let size: number;
  const path = ctx.store.blobPath(digest);
  try {
    if (!/^sha256:[a-f0-9]{64}$/.test(digest)) throw new Error('bad key');
    size = statSync(path).size;
  } catch {
    return fail({ status: 404, code: 'NoSuchKey', message: 'The specified key does not exist.' });
  }

  let start = 0;
  let end = size - 1;
  let status = 200;
  const range = req.headers.range;
  if (range) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    if (m && (m[1] !== '' || m[2] !== '')) {
      if (m[1] === '') {
        start = Math.max(size - Number(m[2]), 0);
      } else {
        start = Number(m[1]);
        if (m[2] !== '') end = Math.min(Number(m[2]), size - 1);
      }
      if (start >= size || start > end) {
        log(416, 'InvalidRange');
        res.writeHead(416, { 'Content-Range': `bytes */${size}`, 'Content-Type': 'application/xml' });
        res.end(method === 'HEAD' ? undefined : '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidRange</Code><Message>The requested range is not satisfiable</Message></Error>');
        return;
      }
      status = 206;
    }
  }
  const length = end - start + 1;
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/octet-stream',
    'Content-Length': length,
    'Accept-Ranges': 'bytes',
    ETag: `"${digest.slice(7, 39)}"`,
  };
  if (status === 206) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
  res.writeHead(status, headers);
  if (method === 'HEAD' || length === 0) {
    log(status);
    res.end();
    return;
  }
  // A cut download sends part of the body and then drops the connection, as a flaky link does.
  const cutAt = ctx.faults.cut() ? start + Math.floor(ctx.faults.random() * length) : -1;
  const file = createReadStream(path, { start, end: cutAt >= 0 ? Math.max(cutAt - 1, start) : end, highWaterMark: ctx.faults.bandwidth ? 64 * 1024 : 1 << 20 });
  const stream = ctx.faults.bandwidth ? file.pipe(new Pace(ctx.faults.bandwidth)) : file;
  file.on('error', () => res.destroy());
  log(status, cutAt >= 0 ? `cut at byte ${cutAt}` : undefined);
  if (cutAt >= 0) {
    stream.on('end', () => res.destroy());
    stream.pipe(res, { end: false });
  } else {
    stream.pipe(res);
  }
  res.on('close', () => {
    file.destroy();
    if (stream !== file) stream.destroy();
  });
}
