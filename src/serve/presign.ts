/**
 * Pre-signed download URLs as S3 makes and judges them: SigV4 query authentication with only `host` signed, a key
 * only this process knows, and S3's own checks, statuses and error codes, in S3's order: the query parameters
 * (400 AuthorizationQueryParametersError), the key (403 InvalidAccessKeyId), the signature over the method, path,
 * query and host (403 SignatureDoesNotMatch: a PUT or DELETE on a GET URL fails here, as on S3), then expiry
 * (403 AccessDenied "Request has expired").
 */
import { randomBytes } from 'node:crypto';
import { formatAmzDate, parseAmzDate, presignedStrings, presignSignature, safeEqualHex } from './sigv4.js';
import { accessDenied, type S3Error } from './s3-errors.js';

export const DOWNLOAD_PREFIX = '/starport-layer-bucket/';
const SIGNER_KEY_ID = 'ASIAECRXSERVE0000000';
/** SigV4's longest pre-signed lifetime: seven days. */
export const MAX_PRESIGN_SECONDS = 604800;

const AUTH_PARAMS = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
];

const queryError = (message: string, extra?: [string, string][]): S3Error => ({
  status: 400,
  code: 'AuthorizationQueryParametersError',
  message,
  extra,
});

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const spacedHex = (s: string) => [...Buffer.from(s, 'utf8')].map((b) => b.toString(16).padStart(2, '0')).join(' ');

export class Presigner {
  private readonly secret = randomBytes(32).toString('hex');

  constructor(
    private readonly region: string,
    private readonly ttlSeconds: number,
  ) {}

  sign(baseUrl: string, registryId: string, repositoryName: string, digest: string): string {
    const url = new URL(`${DOWNLOAD_PREFIX}${registryId}/${repositoryName}/${digest}`, baseUrl);
    const now = new Date();
    const q = url.searchParams;
    q.set('X-Amz-Algorithm', 'AWS4-HMAC-SHA256');
    q.set('X-Amz-Credential', `${SIGNER_KEY_ID}/${formatAmzDate(now).slice(0, 8)}/${this.region}/s3/aws4_request`);
    q.set('X-Amz-Date', formatAmzDate(now));
    q.set('X-Amz-Expires', String(this.ttlSeconds));
    q.set('X-Amz-SignedHeaders', 'host');
    q.set(
      'X-Amz-Signature',
      presignSignature(presignedStrings('GET', url.pathname, q, url.host).stringToSign, q, this.secret),
    );
    return url.toString();
  }

  /** Undefined when the request may have the object; otherwise the S3 error to answer. */
  check(method: string, path: string, query: URLSearchParams, host: string): S3Error | undefined {
    // No query authentication at all: an anonymous request for a private object.
    if (!AUTH_PARAMS.some((k) => query.has(k))) return accessDenied;
    const bad = this.checkParameters(query);
    if (bad) return bad;
    const credential = query.get('X-Amz-Credential')!;
    const accessKeyId = credential.split('/')[0];
    if (accessKeyId !== SIGNER_KEY_ID) {
      return {
        status: 403,
        code: 'InvalidAccessKeyId',
        message: 'The AWS Access Key Id you provided does not exist in our records.',
        extra: [['AWSAccessKeyId', accessKeyId]],
      };
    }
    const { canonicalRequest, stringToSign } = presignedStrings(method, path, query, host);
    const provided = query.get('X-Amz-Signature')!;
    if (!safeEqualHex(presignSignature(stringToSign, query, this.secret), provided)) {
      return {
        status: 403,
        code: 'SignatureDoesNotMatch',
        message:
          'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
        extra: [
          ['AWSAccessKeyId', accessKeyId],
          ['StringToSign', stringToSign],
          ['SignatureProvided', provided],
          ['StringToSignBytes', spacedHex(stringToSign)],
          ['CanonicalRequest', canonicalRequest],
          ['CanonicalRequestBytes', spacedHex(canonicalRequest)],
        ],
      };
    }
    const signedAt = parseAmzDate(query.get('X-Amz-Date')!)!;
    const expires = Number(query.get('X-Amz-Expires'));
    const expiresAt = new Date(signedAt.getTime() + expires * 1000);
    if (Date.now() > expiresAt.getTime()) {
      return {
        status: 403,
        code: 'AccessDenied',
        message: 'Request has expired',
        extra: [
          ['X-Amz-Expires', String(expires)],
          ['Expires', iso(expiresAt)],
          ['ServerTime', iso(new Date())],
        ],
      };
    }
    return undefined;
  }

  /** S3's checks of the query parameters themselves, each answered 400 before any signature is computed. */
  private checkParameters(query: URLSearchParams): S3Error | undefined {
    const algorithm = query.get('X-Amz-Algorithm');
    if (algorithm !== null && algorithm !== 'AWS4-HMAC-SHA256')
      return queryError('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
    if (AUTH_PARAMS.some((k) => !query.get(k))) {
      return queryError(
        'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
      );
    }
    const scope = query.get('X-Amz-Credential')!.split('/');
    if (scope.length !== 5 || scope[4] !== 'aws4_request' || !/^\d{8}$/.test(scope[1])) {
      return queryError(
        'Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
      );
    }
    if (scope[2] !== this.region) {
      return queryError(
        `Error parsing the X-Amz-Credential parameter; the region '${scope[2]}' is wrong; expecting '${this.region}'`,
        [['Region', this.region]],
      );
    }
    if (scope[3] !== 's3')
      return queryError(
        `Error parsing the X-Amz-Credential parameter; incorrect service "${scope[3]}". This endpoint belongs to "s3".`,
      );
    if (!parseAmzDate(query.get('X-Amz-Date')!))
      return queryError("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
    const expires = query.get('X-Amz-Expires')!;
    if (!/^-?\d+$/.test(expires)) return queryError('X-Amz-Expires should be a number');
    if (Number(expires) < 0) return queryError('X-Amz-Expires must be non-negative');
    if (Number(expires) > MAX_PRESIGN_SECONDS)
      return queryError(`X-Amz-Expires must be less than a week (in seconds) that is ${MAX_PRESIGN_SECONDS}`);
    return undefined;
  }
}
