/**
 * The parts of AWS Signature Version 4 the emulator needs: verifying a signed API request (header auth) and
 * signing or verifying a pre-signed URL (query auth), both as AWS computes them.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { sha256Hex } from '../core/digest.js';
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding as SigV4 wants it. */
export function uriEncode(s: string, keepSlash = false): string {
  let out = '';
  for (const ch of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(ch);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += `%${ch.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
}

export function canonicalQuery(params: URLSearchParams, omit?: string): string {
  const pairs: [string, string][] = [];
  for (const [k, v] of params) if (k !== omit) pairs.push([uriEncode(k), uriEncode(v)]);
  pairs.sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

export function stringToSign(amzDate: string, scope: string, canonicalRequest: string): string {
  return ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
}

export function safeEqualHex(a: string, b: string): boolean {
  const ba = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}

export interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

/** Parses `AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ecr/aws4_request, SignedHeaders=..., Signature=...`. */
export function parseAuthorization(header: string): ParsedAuthorization | undefined {
  const m = /^AWS4-HMAC-SHA256\s+Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(
    header.trim(),
  );
  if (!m) return undefined;
  const scope = m[1].split('/');
  if (scope.length !== 5 || scope[4] !== 'aws4_request') return undefined;
  return {
    accessKeyId: scope[0],
    date: scope[1],
    region: scope[2],
    service: scope[3],
    signedHeaders: m[2].split(';'),
    signature: m[3],
  };
}

export interface RequestToVerify {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  bodySha256: string;
}

/** The signature AWS would compute for a header-signed request. */
export function headerSignature(req: RequestToVerify, auth: ParsedAuthorization, secret: string): string {
  const canonicalHeaders = auth.signedHeaders
    .map((h) => {
      const v = req.headers[h];
      const value = Array.isArray(v) ? v.join(',') : (v ?? '');
      return `${h}:${value.trim().replace(/\s+/g, ' ')}\n`;
    })
    .join('');
  const canonical = [
    req.method,
    uriEncode(decodeURIComponent(req.path), true),
    canonicalQuery(req.query),
    canonicalHeaders,
    auth.signedHeaders.join(';'),
    req.bodySha256,
  ].join('\n');
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const key = signingKey(secret, auth.date, auth.region, auth.service);
  return createHmac('sha256', key)
    .update(stringToSign(amzDate, scope, canonical))
    .digest('hex');
}

/** `20260101T000000Z` -> Date, or undefined when malformed. */
export function parseAmzDate(s: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  return new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
}

export function formatAmzDate(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** The canonical request and string to sign of a pre-signed (query) request with only `host` signed, as S3 builds them. */
export function presignedStrings(
  method: string,
  path: string,
  query: URLSearchParams,
  host: string,
): { canonicalRequest: string; stringToSign: string } {
  const cred = (query.get('X-Amz-Credential') ?? '').split('/');
  let decodedPath: string;
  try {
    decodedPath = decodeURIComponent(path);
  } catch {
    decodedPath = path; // a malformed escape: the signature then simply does not match
  }
  const canonicalRequest = [
    method,
    uriEncode(decodedPath, true),
    canonicalQuery(query, 'X-Amz-Signature'),
    `host:${host}\n`,
    'host',
    'UNSIGNED-PAYLOAD',
  ].join('\n');
  return {
    canonicalRequest,
    stringToSign: stringToSign(query.get('X-Amz-Date') ?? '', cred.slice(1).join('/'), canonicalRequest),
  };
}

/** The signature of a pre-signed request, for the scope its X-Amz-Credential names. */
export function presignSignature(stringToSignText: string, query: URLSearchParams, secret: string): string {
  const cred = (query.get('X-Amz-Credential') ?? '').split('/');
  const key = signingKey(secret, cred[1] ?? '', cred[2] ?? '', cred[3] ?? '');
  return createHmac('sha256', key).update(stringToSignText).digest('hex');
}
