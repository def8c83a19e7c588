/**
 * SigV4 on an API request, checked as AWS's JSON services check it and answered with their errors and texts:
 * the credential scope must name this endpoint's region and the `ecr` service and the request's own date, `host`
 * must be signed, the clock may be off by at most five minutes, and with a configured key pair the signature must
 * match (which also pins the signed host and every other signed header to what was received). Without a key pair
 * any key is accepted and no signature can be verified.
 */
import type { IncomingMessage } from 'node:http';
import { ApiError } from './api-error.js';
import type { Context } from './context.js';
import { sha256Hex } from '../core/digest.js';
import { formatAmzDate, headerSignature, parseAmzDate, parseAuthorization, safeEqualHex } from './sigv4.js';

export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

const invalidSignature = (message: string) => new ApiError('InvalidSignatureException', message);

function checkClock(amzDate: string, when: Date): void {
  const now = Date.now();
  if (when.getTime() < now - MAX_CLOCK_SKEW_MS) {
    throw invalidSignature(
      `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(new Date(now - MAX_CLOCK_SKEW_MS))} (${formatAmzDate(new Date(now))} - 5 min.)`,
    );
  }
  if (when.getTime() > now + MAX_CLOCK_SKEW_MS) {
    throw invalidSignature(
      `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(new Date(now + MAX_CLOCK_SKEW_MS))} (${formatAmzDate(new Date(now))} + 5 min.)`,
    );
  }
}

export function authenticate(ctx: Context, req: IncomingMessage, body: Buffer): void {
  const header = req.headers.authorization;
  if (!header) throw new ApiError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  const auth = parseAuthorization(header);
  if (!auth) {
    throw new ApiError(
      'IncompleteSignatureException',
      `Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters for AWS4-HMAC-SHA256. Authorization=${header.split(' ')[0]}`,
    );
  }
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const when = parseAmzDate(amzDate);
  if (!when)
    throw new ApiError(
      'IncompleteSignatureException',
      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    );
  if (auth.region !== ctx.options.region) throw invalidSignature('Credential should be scoped to a valid region. ');
  if (auth.service !== 'ecr') throw invalidSignature("Credential should be scoped to correct service: 'ecr'. ");
  if (auth.date !== amzDate.slice(0, 8)) {
    throw invalidSignature(
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.date}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`,
    );
  }
  if (!auth.signedHeaders.includes('host'))
    throw invalidSignature("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");

  const creds = ctx.options.credentials;
  if (creds) {
    if (auth.accessKeyId !== creds.accessKeyId) {
      throw new ApiError('UnrecognizedClientException', 'The security token included in the request is invalid.');
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const expected = headerSignature(
      {
        method: req.method ?? 'POST',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        bodySha256: sha256Hex(body),
      },
      auth,
      creds.secretAccessKey,
    );
    if (!safeEqualHex(expected, auth.signature)) {
      throw invalidSignature(
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
      );
    }
  }
  checkClock(amzDate, when);
}
