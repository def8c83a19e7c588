/** AWS errors become ecrx errors here, at the boundary, and nowhere else. */
import { EcrxError, type ErrorCode } from '../core/errors.js';

const byName: Record<string, [ErrorCode, string?]> = {
  RepositoryNotFoundException: [
    'REPOSITORY_NOT_FOUND',
    'Check the repository name, --region and --registry-id; `ecrx repos` lists what exists.',
  ],
  ImageNotFoundException: ['IMAGE_NOT_FOUND', '`ecrx tags <repository>` lists the tags that exist.'],
  LayersNotFoundException: ['LAYER_NOT_FOUND'],
  LayerInaccessibleException: ['LAYER_NOT_FOUND'],
  UnrecognizedClientException: [
    'AUTH_ERROR',
    'The access key is not known to AWS: check AWS_ACCESS_KEY_ID / AWS_PROFILE, or run `aws sso login`.',
  ],
  InvalidSignatureException: [
    'AUTH_ERROR',
    'The secret key does not match the access key, or the clock is off by more than 15 minutes.',
  ],
  SignatureDoesNotMatch: ['AUTH_ERROR', 'The secret key does not match the access key.'],
  ExpiredTokenException: [
    'AUTH_ERROR',
    'The session credentials have expired: refresh them (e.g. `aws sso login`) and run again.',
  ],
  MissingAuthenticationTokenException: ['AUTH_ERROR', 'The request was not signed: configure AWS credentials.'],
  IncompleteSignatureException: ['AUTH_ERROR'],
  CredentialsProviderError: [
    'AUTH_ERROR',
    'No AWS credentials were found: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or use an SSO, web identity or instance role.',
  ],
  AccessDeniedException: [
    'ACCESS_DENIED',
    'The credentials are valid but IAM does not allow this action on this repository.',
  ],
  ThrottlingException: ['THROTTLED', 'ECR kept throttling the requests; try again later or lower --concurrency.'],
  ServerException: ['SERVICE_ERROR', 'ECR kept failing on its side; try again later.'],
  ImageTagAlreadyExistsException: [
    'TAG_IMMUTABLE',
    'The repository has immutable tags: push under a new tag, or change the repository to MUTABLE.',
  ],
  RepositoryNotEmptyException: ['REPOSITORY_NOT_EMPTY'],
  RepositoryAlreadyExistsException: ['ALREADY_EXISTS'],
  InvalidParameterException: ['VALIDATION_ERROR'],
  ImageDigestDoesNotMatchException: ['DIGEST_MISMATCH'],
  InvalidLayerException: ['DIGEST_MISMATCH'],
  UnknownOperationException: ['SERVICE_ERROR'],
  ImageStorageClassUpdateNotSupportedException: [
    'STORAGE_CLASS_UNSUPPORTED',
    'ECR does not allow this storage-class change for this image (for example a child of an index: change the index; or an image still being restored).',
  ],
};

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
]);

/** What ecrx reads of a thrown value: an AWS SDK service error, a Node.js system error, or anything else. */
interface Thrown {
  name?: string;
  message?: string;
  code?: string;
  address?: string;
  port?: number;
  hostname?: string;
  cause?: Thrown;
  $metadata?: { httpStatusCode?: number };
}

const asThrown = (err: unknown): Thrown | undefined =>
  err !== null && typeof err === 'object' ? (err as Thrown) : undefined;

/** The name, message and HTTP status of anything thrown, for messages and debug lines. */
export function awsFacts(err: unknown): { name: string; message: string; status?: number } {
  const e = asThrown(err);
  return { name: e?.name ?? 'Error', message: e?.message ?? String(err), status: e?.$metadata?.httpStatusCode };
}

export function isNetworkError(err: unknown): boolean {
  const e = asThrown(err);
  return Boolean(
    e &&
    (NETWORK_CODES.has(e.code ?? '') ||
      NETWORK_CODES.has(e.cause?.code ?? '') ||
      e.name === 'TimeoutError' ||
      e.name === 'RequestTimeout' ||
      /socket hang up|ECONNRESET|other side closed/i.test(String(e.message))),
  );
}

const isLoopbackAddress = (a: unknown) =>
  typeof a === 'string' && (/^127\./.test(a) || a === '::1' || a === '::ffff:127.0.0.1' || /^::ffff:127\./.test(a));

/**
 * Failures another try will not fix, and what to say about them: nothing listens on a loopback port (a local
 * endpoint that is not running: it will not start during a backoff), or a host name that does not exist (DNS
 * answered NXDOMAIN; EAI_AGAIN, a resolver that did not answer, stays retryable). A refused connection to a
 * remote host is retried: a load balancer may be restarting.
 */
export function unreachable(err: unknown): { message: string; hint: string } | undefined {
  const t = asThrown(err);
  const e = t?.code ? t : t?.cause;
  if (e?.code === 'ECONNREFUSED' && e.address && isLoopbackAddress(e.address)) {
    const where = e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
    return {
      message: `nothing is listening at ${where} (connection refused)`,
      hint: 'Is the endpoint running? Check --endpoint-url (or AWS_ENDPOINT_URL_ECR / AWS_ENDPOINT_URL).',
    };
  }
  if (e?.code === 'ENOTFOUND') {
    return {
      message: `the host name ${e.hostname ?? '(unknown)'} does not resolve (DNS: not found)`,
      hint: "Check --endpoint-url and --region for typos, and the machine's DNS settings.",
    };
  }
  return undefined;
}

/** Worth another try: throttling, 5xx, a dropped connection. */
export function isRetryable(err: unknown): boolean {
  const e = asThrown(err);
  if (!e) return false;
  if (err instanceof EcrxError) return false;
  if (unreachable(err)) return false;
  if (e.name === 'ThrottlingException' || e.name === 'ServerException' || e.name === 'ServiceUnavailableException')
    return true;
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number' && status >= 500) return true;
  if (status === 429) return true;
  return isNetworkError(err);
}

export function fromAws(err: unknown, context: string): EcrxError {
  if (err instanceof EcrxError) return err;
  const { name, message, status } = awsFacts(err);
  const e = asThrown(err);
  const mapped = byName[name];
  if (mapped)
    return new EcrxError(mapped[0], `${context}: ${message}`, {
      hint: mapped[1],
      cause: err,
      details: { awsError: name },
    });
  const gone = unreachable(err);
  if (gone) return new EcrxError('NETWORK_ERROR', `${context}: ${gone.message}`, { hint: gone.hint, cause: err });
  if (isNetworkError(err)) {
    return new EcrxError('NETWORK_ERROR', `${context}: could not reach ECR (${e?.code ?? e?.cause?.code ?? message})`, {
      hint: 'Check the network, a proxy (HTTPS_PROXY/NO_PROXY), and --endpoint-url or --region.',
      cause: err,
    });
  }
  if (/region is missing/i.test(message)) {
    return new EcrxError('VALIDATION_ERROR', 'No AWS region is configured', {
      hint: 'Pass --region, set AWS_REGION, or paste the full <account>.dkr.ecr.<region>.amazonaws.com/... reference.',
      cause: err,
    });
  }
  return new EcrxError('SERVICE_ERROR', `${context}: ${name}: ${message}${status ? ` (HTTP ${status})` : ''}`, {
    cause: err,
    details: { awsError: name },
  });
}
