/**
 * A blob upload by the distribution spec: POST /blobs/uploads/ opens a session, one PATCH streams the bytes, and the
 * closing PUT ?digest= commits them, sent only once the caller says every byte is verified. A PATCH that fails
 * part-way is resumed from where the registry says it got to (GET on the session answers `Range: 0-<last>`); a
 * session the registry forgot is started again.
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { EcrxError } from '../core/errors.js';
import { backoffDelay, sleep } from '../core/retry.js';
import { headerOf, pushScope, type RegistryClient } from './client.js';
import { registryError } from './errors.js';

export interface UploadInput {
  digest: string;
  size: number;
  /** The blob's bytes from offset; a fresh stream for each call. */
  open(offset: number, signal?: AbortSignal): Readable;
  /** Settles once every byte has been checked against the digest: the commit waits for it. */
  verified?: Promise<void>;
}

export interface UploadOptions {
  signal?: AbortSignal;
  /** Bytes sent since the last call. */
  onProgress?: (bytes: number) => void;
  onRetry?: (reason: string) => void;
  /** Told each session's URL as it changes, so an abort can cancel it. */
  onSession?: (url: URL | undefined) => void;
  maxAttempts?: number;
}

class Counter extends Transform {
  constructor(private readonly onBytes: (n: number) => void) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.onBytes(chunk.length);
    cb(null, chunk);
  }
}

const transient = (err: unknown) =>
  err instanceof EcrxError && ['NETWORK_ERROR', 'SERVICE_ERROR', 'THROTTLED'].includes(err.code);

function locationOf(res: { headers: Record<string, string | string[] | undefined> }, base: URL, what: string): URL {
  const loc = res.headers.location;
  const value = Array.isArray(loc) ? loc[0] : loc;
  if (!value) throw new EcrxError('SERVICE_ERROR', `${what}: the registry sent no Location for the upload`);
  return new URL(value, base);
}

export async function startUpload(client: RegistryClient, repository: string, signal?: AbortSignal): Promise<URL> {
  const what = `Starting an upload to ${client.registry}/${repository}`;
  const base = await client.ping(signal);
  const res = await client.request({
    method: 'POST',
    path: `/v2/${repository}/blobs/uploads/`,
    headers: { 'content-length': '0' },
    scope: pushScope(repository),
    what,
    signal,
  });
  res.resume();
  if (res.statusCode !== 202) throw await registryError(res, await client.errorContext(what, 'REPOSITORY_NOT_FOUND'));
  return locationOf(res, base, what);
}

/** Where an interrupted session stands: the next offset to send and its URL, or undefined when it is gone. */
async function sessionStatus(
  client: RegistryClient,
  repository: string,
  url: URL,
  signal?: AbortSignal,
): Promise<{ offset: number; url: URL } | undefined> {
  const res = await client.request({
    method: 'GET',
    path: url,
    scope: pushScope(repository),
    what: 'Upload status',
    signal,
  });
  res.resume();
  if (res.statusCode !== 204) return undefined;
  const last = /^(?:bytes=)?0-(\d+)$/.exec(headerOf(res, 'range') ?? '')?.[1];
  return {
    offset: last === undefined ? 0 : Number(last) + 1,
    url: res.headers.location ? locationOf(res, url, 'Upload status') : url,
  };
}

/** Uploads one blob; resolves with the bytes sent in this call. */
export async function uploadBlob(
  client: RegistryClient,
  repository: string,
  input: UploadInput,
  opts: UploadOptions = {},
): Promise<{ bytes: number }> {
  const { digest, size } = input;
  const what = `Uploading blob ${digest} to ${client.registry}/${repository}`;
  const maxAttempts = opts.maxAttempts ?? 5;
  let session = await startUpload(client, repository, opts.signal);
  opts.onSession?.(session);
  let offset = 0;
  let sent = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      if (offset < size) {
        const from = offset;
        const res = await client.request({
          method: 'PATCH',
          path: session,
          headers: {
            'content-type': 'application/octet-stream',
            'content-length': String(size - from),
            ...(from > 0 ? { 'content-range': `${from}-${size - 1}` } : {}),
          },
          body: () => {
            const counter = new Counter((n) => {
              sent += n;
              opts.onProgress?.(n);
            });
            // A source that fails mid-stream fails the PATCH (and so a retry), not the process.
            const source = input.open(from, opts.signal).on('error', (err) => counter.destroy(err));
            return source.pipe(counter);
          },
          scope: pushScope(repository),
          what,
          signal: opts.signal,
          retry: false,
          noRedirects: true,
        });
        res.resume();
        if (res.statusCode !== 202) throw await registryError(res, await client.errorContext(what));
        session = locationOf(res, session, what);
        opts.onSession?.(session);
        offset = size;
      }
      await input.verified;
      const commit = new URL(session);
      commit.searchParams.set('digest', digest);
      const res = await client.request({
        method: 'PUT',
        path: commit,
        headers: { 'content-length': '0' },
        scope: pushScope(repository),
        what,
        signal: opts.signal,
        noRedirects: true,
      });
      res.resume();
      if (res.statusCode !== 201) throw await registryError(res, await client.errorContext(what));
      const stored = headerOf(res, 'docker-content-digest');
      if (stored && stored !== digest)
        throw new EcrxError('DIGEST_MISMATCH', `${what}: the registry stored ${stored}`, {
          details: { expected: digest, actual: stored },
        });
      opts.onSession?.(undefined);
      return { bytes: sent };
    } catch (err) {
      if (opts.signal?.aborted || !transient(err) || attempt >= maxAttempts) throw err;
      opts.onRetry?.(`${(err as Error).message}; resuming`);
      await sleep(backoffDelay(attempt, 250, 5000), opts.signal);
      const status = await sessionStatus(client, repository, session, opts.signal).catch(() => undefined);
      if (status) {
        session = status.url;
        offset = Math.min(status.offset, size);
      } else {
        session = await startUpload(client, repository, opts.signal);
        offset = 0;
      }
      opts.onSession?.(session);
    }
  }
}

/** Cancels an upload session (best effort: the registry expires it anyway). */
export async function cancelUpload(client: RegistryClient, repository: string, session: URL): Promise<void> {
  try {
    const res = await client.request({
      method: 'DELETE',
      path: session,
      scope: pushScope(repository),
      what: 'Cancelling an upload',
      retry: false,
    });
    res.resume();
  } catch {
    // the session expires on its own
  }
}
