/**
 * The S3 side of the emulator: what a pre-signed download URL serves, streamed from disk with Range, and S3's
 * errors for everything else (see presign.ts for how a URL is judged).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import type { Context } from './context.js';
import type { Presigner } from './presign.js';
import { noSuchKey, sendS3Error, type S3Error } from './s3-errors.js';

export { DOWNLOAD_PREFIX, Presigner } from './presign.js';
export { sendS3Error } from './s3-errors.js';

/** `event` names a later moment of the same download ("sent": the last byte handed to the connection). */
export type DownloadLog = (status: number, note?: string, event?: string) => void;

export function serveDownload(
  ctx: Context,
  presigner: Presigner,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  log: DownloadLog = () => undefined,
): void {
  const method = req.method ?? 'GET';
  const fail = (err: S3Error, headers?: Record<string, string>) => {
    log(err.status, err.code);
    sendS3Error(res, err, method, headers);
  };
  const refused = refusal(ctx, presigner, req, url, log);
  if (refused) return fail(refused);
  const digest = url.pathname.slice(url.pathname.lastIndexOf('/') + 1);
  if (!ctx.store.hasBlob(digest)) return fail(noSuchKey);
  const path = ctx.store.blobPath(digest);
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return fail(noSuchKey);
  }
  const range = rangeOf(req.headers.range, size);
  if ('error' in range) return fail(range.error, { 'Content-Range': `bytes */${size}` });
  const { start, end, status } = range;
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
  streamBlob(ctx, res, path, { start, end, status }, log);
}

/** Why S3 would refuse the request before looking for the object: auth, signature, or an injected fault. */
function refusal(
  ctx: Context,
  presigner: Presigner,
  req: IncomingMessage,
  url: URL,
  log: DownloadLog,
): S3Error | undefined {
  // A client must send no AWS credentials to the download host; the log says so when one does.
  const credentialHeaders = ['x-amz-security-token', 'x-amz-date', 'x-amz-content-sha256'].filter(
    (h) => req.headers[h] !== undefined,
  );
  if (credentialHeaders.length) log(0, `credentials-in-request: ${credentialHeaders.join(',')}`);
  if (req.headers.authorization) {
    return {
      status: 400,
      code: 'InvalidArgument',
      message:
        'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
    };
  }
  // The signature covers the method: HEAD, PUT or DELETE on a URL signed for GET fails it, as on S3.
  const bad = presigner.check(req.method ?? 'GET', url.pathname, url.searchParams, req.headers.host ?? '');
  if (bad) return bad;
  if (ctx.faults.expire()) return { status: 403, code: 'AccessDenied', message: 'Request has expired' };
  if (ctx.faults.slowdown()) return { status: 503, code: 'SlowDown', message: 'Please reduce your request rate.' };
  return undefined;
}

/** The bytes a Range header asks for (the whole object without one, or with one S3 ignores), or S3's 416. */
function rangeOf(
  range: string | undefined,
  size: number,
): { start: number; end: number; status: 200 | 206 } | { error: S3Error } {
  const whole = { start: 0, end: size - 1, status: 200 as const };
  const m = range ? /^bytes=(\d*)-(\d*)$/.exec(range.trim()) : null;
  if (!range || !m || (m[1] === '' && m[2] === '')) return whole;
  let start: number;
  let end = size - 1;
  if (m[1] === '') {
    start = Math.max(size - Number(m[2]), 0);
  } else {
    start = Number(m[1]);
    if (m[2] !== '') end = Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) {
    return {
      error: {
        status: 416,
        code: 'InvalidRange',
        message: 'The requested range is not satisfiable',
        extra: [
          ['RangeRequested', range],
          ['ActualObjectSize', String(size)],
        ],
      },
    };
  }
  return { start, end, status: 206 };
}

/** Streams the range from disk, paced by the link, and cut part-way when the cut fault fires. */
function streamBlob(
  ctx: Context,
  res: ServerResponse,
  path: string,
  { start, end, status }: { start: number; end: number; status: number },
  log: DownloadLog,
): void {
  const length = end - start + 1;
  // A cut download sends part of the body and then drops the connection, as a flaky link does.
  const cutAt = ctx.faults.cut() ? start + Math.floor(ctx.faults.random() * length) : -1;
  const file = createReadStream(path, {
    start,
    end: cutAt >= 0 ? Math.max(cutAt - 1, start) : end,
    highWaterMark: ctx.link.paced ? 64 * 1024 : 1 << 20,
  });
  const pace = ctx.link.pace();
  const stream = pace ? file.pipe(pace) : file;
  file.on('error', () => res.destroy());
  log(status, cutAt >= 0 ? `cut at byte ${cutAt}` : undefined);
  if (cutAt >= 0) {
    stream.on('end', () => res.destroy());
    stream.pipe(res, { end: false });
  } else {
    stream.pipe(res);
  }
  // The whole body handed over: a client's log can be ordered against it ("GET blob sent").
  res.once('finish', () => log(status, `${length} bytes`, 'sent'));
  res.on('close', () => {
    file.destroy();
    if (stream !== file) stream.destroy();
  });
}
