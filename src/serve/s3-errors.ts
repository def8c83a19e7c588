/** S3's error answers: a status, an XML `<Error>` body with Code, Message, extra elements, RequestId and HostId. */
import type { ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';

export interface S3Error {
  status: number;
  code: string;
  message: string;
  /** Elements S3 adds for this error (Region, X-Amz-Expires, StringToSign, ...), in order. */
  extra?: [string, string][];
}

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function s3ErrorXml(err: S3Error, requestId: string, hostId: string): string {
  const extra = (err.extra ?? []).map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`).join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${err.code}</Code><Message>${xmlEscape(err.message)}</Message>${extra}<RequestId>${requestId}</RequestId><HostId>${hostId}</HostId></Error>`;
}

/** Answers an S3 error; a HEAD gets the status and headers only, as S3 sends no body to HEAD. */
export function sendS3Error(
  res: ServerResponse,
  err: S3Error,
  method: string,
  headers: Record<string, string> = {},
): void {
  const requestId = randomBytes(8).toString('hex').toUpperCase();
  const hostId = randomBytes(48).toString('base64');
  const body = s3ErrorXml(err, requestId, hostId);
  res.writeHead(err.status, {
    'Content-Type': 'application/xml',
    ...(method === 'HEAD' ? {} : { 'Content-Length': Buffer.byteLength(body) }),
    'x-amz-request-id': requestId,
    'x-amz-id-2': hostId,
    ...headers,
  });
  res.end(method === 'HEAD' ? undefined : body);
}

export const accessDenied: S3Error = { status: 403, code: 'AccessDenied', message: 'Access Denied' };
export const noSuchKey: S3Error = { status: 404, code: 'NoSuchKey', message: 'The specified key does not exist.' };
