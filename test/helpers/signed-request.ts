/**
 * Raw ECR API requests signed with SigV4, written here from AWS's specification and independent of the server's
 * own verifier, so a test can send exactly the bytes, host, region or clock it means to.
 */
import type { Json } from './json.js';
import { request } from 'node:http';
import { createHash, createHmac } from 'node:crypto';

export interface RawOptions {
  region?: string;
  service?: string;
  /** The Host header sent and signed (default: the endpoint's). */
  host?: string;
  /** Sign for this host but send the endpoint's own Host header. */
  signedHost?: string;
  date?: Date;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Leave `host` out of SignedHeaders. */
  unsignedHost?: boolean;
  /** A credential-scope date (YYYYMMDD) other than the request's own. */
  scopeDate?: string;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: Json;
}

const TARGET_PREFIX = 'AmazonEC2ContainerRegistry_V20150921';
const hex = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const hmac = (key: Buffer | string, s: string) => createHmac('sha256', key).update(s).digest();
const amzDate = (d: Date) =>
  d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');

function authorization(
  opts: Required<Pick<RawOptions, 'region' | 'service' | 'accessKeyId' | 'secretAccessKey'>> & { scopeDate?: string },
  headers: Record<string, string>,
  body: Buffer,
  stamp: string,
): string {
  const names = Object.keys(headers)
    .map((h) => h.toLowerCase())
    .sort();
  const lookup = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const canonical = [
    'POST',
    '/',
    '',
    names.map((h) => `${h}:${lookup[h].trim()}\n`).join(''),
    names.join(';'),
    hex(body),
  ].join('\n');
  const day = opts.scopeDate ?? stamp.slice(0, 8);
  const scope = `${day}/${opts.region}/${opts.service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', stamp, scope, hex(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${opts.secretAccessKey}`, day), opts.region), opts.service), 'aws4_request');
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  return `AWS4-HMAC-SHA256 Credential=${opts.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
}

/** POSTs `body` (a string, or an object to JSON-encode) as `operation`, signed as `opts` says. */
export function signedPost(
  endpoint: string,
  operation: string,
  body: string | Buffer | object,
  opts: RawOptions = {},
): Promise<RawResponse> {
  const url = new URL(endpoint);
  const bytes = Buffer.isBuffer(body)
    ? body
    : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
  const stamp = amzDate(opts.date ?? new Date());
  const sentHost = opts.host ?? url.host;
  const signed: Record<string, string> = {
    'content-type': 'application/x-amz-json-1.1',
    'x-amz-date': stamp,
    'x-amz-target': `${TARGET_PREFIX}.${operation}`,
    ...(opts.unsignedHost ? {} : { host: opts.signedHost ?? sentHost }),
  };
  const auth = authorization(
    {
      region: opts.region ?? 'us-east-1',
      service: opts.service ?? 'ecr',
      accessKeyId: opts.accessKeyId ?? 'AKIAECRXTESTKEY00001',
      secretAccessKey: opts.secretAccessKey ?? 'ecrx-test-secret',
      scopeDate: opts.scopeDate,
    },
    signed,
    bytes,
    stamp,
  );
  const headers = { ...signed, host: sentHost, authorization: auth, 'content-length': String(bytes.length) };
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: '/', method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        // A body that is not JSON leaves `json` missing: the test's first read of it fails.
        let json: Json | undefined;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: json as Json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(bytes);
  });
}
