/**
 * A registry's error answers as ecrx errors: the HTTP status and the distribution spec's error code
 * (`{"errors":[{"code":"MANIFEST_UNKNOWN","message":...}]}`) decide the EcrxError code, so a missing tag exits 3,
 * a refused login 4, a throttled registry 6, wherever it happens.
 */
import type { IncomingMessage } from 'node:http';
import { EcrxError, type ErrorCode } from '../core/errors.js';
import { readSmallBody } from '../net/http.js';

/** What was being done, for the message: "Getting the manifest of localhost:5000/x:y". */
export interface ErrorContext {
  what: string;
  registry: string;
  /** What a 404 means here. */
  notFound?: 'IMAGE_NOT_FOUND' | 'LAYER_NOT_FOUND' | 'REPOSITORY_NOT_FOUND';
  /** Whether credentials were sent (a 401 then means they were refused). */
  authenticated?: boolean;
}

const byRegistryCode: Record<string, ErrorCode> = {
  NAME_UNKNOWN: 'REPOSITORY_NOT_FOUND',
  MANIFEST_UNKNOWN: 'IMAGE_NOT_FOUND',
  BLOB_UNKNOWN: 'LAYER_NOT_FOUND',
  MANIFEST_BLOB_UNKNOWN: 'LAYER_NOT_FOUND',
  BLOB_UPLOAD_UNKNOWN: 'SERVICE_ERROR',
  DIGEST_INVALID: 'DIGEST_MISMATCH',
  SIZE_INVALID: 'SIZE_MISMATCH',
  MANIFEST_INVALID: 'INVALID_IMAGE',
  MANIFEST_UNVERIFIED: 'INVALID_IMAGE',
  NAME_INVALID: 'VALIDATION_ERROR',
  TAG_INVALID: 'VALIDATION_ERROR',
  UNAUTHORIZED: 'AUTH_ERROR',
  DENIED: 'ACCESS_DENIED',
  TOOMANYREQUESTS: 'THROTTLED',
  UNSUPPORTED: 'SERVICE_ERROR',
};

function byStatus(status: number, ctx: ErrorContext): ErrorCode {
  if (status === 401) return 'AUTH_ERROR';
  if (status === 403) return 'ACCESS_DENIED';
  if (status === 404) return ctx.notFound ?? 'IMAGE_NOT_FOUND';
  if (status === 429) return 'THROTTLED';
  return 'SERVICE_ERROR';
}

function hintFor(code: ErrorCode, ctx: ErrorContext): string {
  switch (code) {
    case 'AUTH_ERROR':
      return ctx.authenticated
        ? `The registry refused the credentials: log in again (docker login ${ctx.registry}) or fix the docker config.`
        : `The registry wants credentials: docker login ${ctx.registry} (ecrx reads the docker config and its credential helpers).`;
    case 'ACCESS_DENIED':
      return 'The credentials work but lack permission for this repository; check who may pull or push it.';
    case 'IMAGE_NOT_FOUND':
    case 'REPOSITORY_NOT_FOUND':
      return 'Check the reference (registry, repository, tag); `ecrx tags` lists what exists.';
    case 'THROTTLED':
      return 'The registry is rate-limiting; wait and run again (a login often raises the limit, as on Docker Hub).';
    case 'DIGEST_MISMATCH':
    case 'SIZE_MISMATCH':
      return 'The registry computed another digest for the bytes sent; run again, and report it if it persists.';
    default:
      return 'Try again; if it persists, the registry is having trouble.';
  }
}

/** The error for a response that is not what was wanted; the body (an error document) is read and discarded. */
export async function registryError(res: IncomingMessage, ctx: ErrorContext): Promise<EcrxError> {
  const status = res.statusCode ?? 0;
  const text = await readSmallBody(res, 16 * 1024);
  let regCode: string | undefined;
  let regMessage: string | undefined;
  try {
    const doc = JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] };
    const first = doc.errors?.[0];
    if (typeof first?.code === 'string') regCode = first.code;
    if (typeof first?.message === 'string') regMessage = first.message.slice(0, 200);
  } catch {
    // not an error document: the status alone decides
  }
  const code = (regCode && byRegistryCode[regCode]) || byStatus(status, ctx);
  const finalCode = code === 'SERVICE_ERROR' && status === 404 ? (ctx.notFound ?? 'IMAGE_NOT_FOUND') : code;
  const why = regCode ? `${regCode}${regMessage ? `: ${regMessage}` : ''}` : `HTTP ${status}`;
  return new EcrxError(finalCode, `${ctx.what} failed: ${why}`, {
    hint: hintFor(finalCode, ctx),
    details: { status, registry: ctx.registry, ...(regCode ? { registryCode: regCode } : {}) },
  });
}

/** A connection-level failure (refused, reset, DNS, TLS) as NETWORK_ERROR with what to check. */
export function networkError(err: unknown, ctx: { what: string; registry: string }): EcrxError {
  if (err instanceof EcrxError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = e?.code ?? '';
  const tlsTrust = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code);
  return new EcrxError('NETWORK_ERROR', `${ctx.what} failed: ${e?.message ?? String(err)}`, {
    hint: tlsTrust
      ? `The registry's TLS certificate is not trusted. Add its CA with SSL_CERT_FILE or NODE_EXTRA_CA_CERTS (a PEM file), or use --insecure for a test registry.`
      : `Check that ${ctx.registry} is reachable from here (and HTTPS_PROXY / NO_PROXY if a proxy is in the way).`,
    details: { registry: ctx.registry, ...(code ? { errno: code } : {}) },
    cause: err,
  });
}
