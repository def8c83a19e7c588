/**
 * Downloads one blob from its pre-signed URL into the cache: streamed to a temporary file while sha256 and the
 * byte count are computed, renamed under its digest only when both match. A cut connection resumes with a Range
 * request from the bytes already on disk; 5xx and S3 SlowDown back off and retry; an expired URL (403) is replaced
 * by a fresh one; a digest mismatch, or a size the server announces (Content-Length, Content-Range) that is not
 * the descriptor's, discards the bytes and starts once more before it fails. Only http(s) URLs are fetched, with
 * at most a few redirects (net/http.ts), and a connection silent for ECRX_READ_TIMEOUT counts as a failed attempt.
 */
import { createHash, type Hash } from 'node:crypto';
import { open, rm, type FileHandle } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { EcrxError } from '../core/errors.js';
import { backoffDelay, sleep } from '../core/retry.js';
import type { BlobStore } from '../store/blob-store.js';
import { httpGet, readSmallBody, safeUrl, stallOf } from '../net/http.js';
import { isNetworkError } from './errors.js';
import { writeAll } from '../core/write-all.js';
import type { GrowingWriter } from '../core/growing.js';

export interface DownloadRequest {
  digest: string;
  size: number;
  /** A pre-signed URL for the blob; `fresh` asks for a new one (the last one expired or vanished). */
  getUrl: (fresh: boolean) => Promise<string>;
  cache: BlobStore;
  /** Total bytes on disk so far. */
  onProgress?: (bytes: number) => void;
  onRetry?: (reason: string) => void;
  signal?: AbortSignal;
  /** Failed attempts in a row that moved no bytes before giving up (default 10). */
  maxStalled?: number;
  /** Told the temporary file and its contiguous written-and-hashed prefix (an upload streams it: copy). */
  growing?: GrowingWriter;
}

const FLUSH_BYTES = 1 << 20;

class Retry extends Error {
  constructor(
    readonly reason: string,
    readonly freshUrl = false,
    readonly backoff = true,
  ) {
    super(reason);
  }
}

export async function downloadToCache(req: DownloadRequest): Promise<void> {
  const tmp = req.cache.tmpPath(req.digest.slice(7, 19));
  const fh = await open(tmp, 'w');
  req.growing?.started(tmp);
  // Bytes on disk and their running hash, kept in step by streamBody even when a connection is cut.
  const state: { written: number; hash: Hash } = { written: 0, hash: createHash('sha256') };
  let failures = 0;
  let stalled = 0;
  let writtenAtLastFailure = 0;
  let mismatches = 0;
  let fresh = false;
  // Only stalls count towards giving up: an attempt that moved bytes shows the link works, however flakily, and
  // the number of such attempts is bounded by the blob's size. Ten attempts in a row that moved nothing end it.
  const maxStalled = req.maxStalled ?? 10;
  let committed = false;

  // A size or digest that does not match is retried once, from byte 0 with a fresh URL, then refused.
  const sizeWrongOnce = (actualSize: number): never => {
    mismatches++;
    if (mismatches >= 2) {
      throw new EcrxError(
        'SIZE_MISMATCH',
        `Blob ${req.digest} should be ${req.size} bytes but the registry's copy has ${actualSize}`,
        {
          details: { expected: req.digest, expectedSize: req.size, actualSize },
          hint: 'The bytes were discarded and nothing was written. The registry holds a blob that does not match its descriptor.',
        },
      );
    }
    fresh = true;
    throw new Retry(
      `the server announced ${actualSize} bytes for a blob of ${req.size}: downloading once more`,
      true,
      false,
    );
  };

  const restart = async () => {
    req.growing?.prefix(0); // before a byte changes: a reader of the old bytes starts again
    await fh.truncate(0);
    state.hash = createHash('sha256');
    state.written = 0;
    req.onProgress?.(0);
  };

  try {
    for (;;) {
      if (req.signal?.aborted) throw req.signal.reason;
      try {
        if (state.written < req.size || req.size === 0) {
          const url = await req.getUrl(fresh);
          fresh = false;
          const res = await httpGet(url, {
            headers: state.written > 0 ? { range: `bytes=${state.written}-` } : {},
            signal: req.signal,
          });
          if (res.statusCode === 200 && state.written > 0) await restart(); // the server ignored Range: take it whole
          if (res.statusCode === 206 && !contentRangeStartsAt(res, state.written)) {
            res.destroy();
            await restart();
            throw new Retry('the server answered a different range than asked');
          }
          if (res.statusCode === 416) {
            // Asked to resume past the blob's end: it is shorter than the manifest says.
            res.resume();
            const total = /\/(\d+)$/.exec(String(res.headers['content-range'] ?? ''))?.[1];
            throw new EcrxError(
              'SIZE_MISMATCH',
              `Blob ${req.digest} should be ${req.size} bytes but the registry's copy ${total ? `has ${total}` : 'is shorter'}`,
              {
                details: {
                  expected: req.digest,
                  expectedSize: req.size,
                  ...(total ? { actualSize: Number(total) } : {}),
                },
                hint: 'The bytes were discarded and nothing was written. The registry holds a blob that does not match its descriptor.',
              },
            );
          }
          if (res.statusCode !== 200 && res.statusCode !== 206) await failFromStatus(res, url);
          const announced = announcedSize(res);
          if (announced !== undefined && announced !== req.size) {
            // The server says up front that it holds another blob than the descriptor names: no need to read it.
            res.destroy();
            await restart();
            sizeWrongOnce(announced);
          }
          await streamBody(res, fh, state, req);
        }
        const written = state.written;
        if (written < req.size) throw new Retry(`connection ended after ${written} of ${req.size} bytes`);
        const actual = `sha256:${state.hash.digest('hex')}`;
        if (written !== req.size || actual !== req.digest) {
          mismatches++;
          if (mismatches >= 2) {
            const sizeWrong = written !== req.size;
            throw new EcrxError(
              sizeWrong ? 'SIZE_MISMATCH' : 'DIGEST_MISMATCH',
              sizeWrong
                ? `Blob ${req.digest} should be ${req.size} bytes but the download ${written > req.size ? 'had more' : `had ${written}`}`
                : `Blob ${req.digest} downloaded twice with the wrong content: expected ${req.digest}, got ${actual}`,
              {
                details: {
                  expected: req.digest,
                  expectedSize: req.size,
                  ...(written > req.size ? {} : { actual, actualSize: written }),
                },
                hint: 'The bytes were discarded and nothing was written. The registry holds a blob that does not match its digest, or something on the way changes it.',
              },
            );
          }
          await restart();
          fresh = true;
          throw new Retry(
            `content did not match ${req.digest} (got ${actual}, ${written} bytes): downloading once more`,
            true,
            false,
          );
        }
        // What was hashed is what was received; the file must hold all of it too before it takes the digest's name.
        const onDisk = (await fh.stat()).size;
        if (onDisk !== req.size) {
          throw new EcrxError(
            'OUTPUT_ERROR',
            `The cache file for ${req.digest} holds ${onDisk} of its ${req.size} bytes after writing`,
            {
              hint: 'The file system lost writes without an error. Check the disk holding --cache-dir, then run the same command again.',
            },
          );
        }
        await fh.close();
        await req.cache.commit(tmp, req.digest);
        committed = true;
        return;
      } catch (err) {
        if (!(err instanceof Retry) && !isNetworkError(err)) throw err;
        if (req.signal?.aborted) throw req.signal.reason;
        const retry =
          err instanceof Retry
            ? err
            : new Retry(
                `connection failed: ${(err as Error).message ?? (err as NodeJS.ErrnoException).code} (resuming at byte ${state.written})`,
              );
        failures++;
        // Progress since the last failure means the link works, if flakily: the backoff starts small again.
        stalled = state.written > writtenAtLastFailure ? 0 : stalled + 1;
        writtenAtLastFailure = state.written;
        if (stalled >= maxStalled) {
          throw new EcrxError(
            'NETWORK_ERROR',
            `Downloading ${req.digest} failed ${failures} times${failures === stalled ? '' : `, the last ${stalled} in a row`} without moving a byte; last: ${retry.reason}`,
            {
              hint: 'Check the network and any proxy, then run the same command again: blobs already finished are kept in the cache. --max-attempts allows more tries.',
            },
          );
        }
        fresh = fresh || retry.freshUrl;
        req.onRetry?.(retry.reason);
        if (retry.backoff) await sleep(backoffDelay(stalled + 1, 200, 10_000), req.signal);
      }
    }
  } finally {
    if (!committed) {
      await fh.close().catch(() => undefined);
      await rm(tmp, { force: true });
    }
  }
}

/** The blob's full size as the response announces it, if it does: a 200's Content-Length, a 206's range total. */
function announcedSize(res: IncomingMessage): number | undefined {
  if (res.statusCode === 200) {
    const length = Number(res.headers['content-length'] ?? NaN);
    return Number.isSafeInteger(length) ? length : undefined;
  }
  const total = /\/(\d+)$/.exec(String(res.headers['content-range'] ?? ''))?.[1];
  return total === undefined ? undefined : Number(total);
}

function contentRangeStartsAt(res: IncomingMessage, start: number): boolean {
  const m = /^bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''));
  return Boolean(m && Number(m[1]) === start);
}

async function failFromStatus(res: IncomingMessage, url: string): Promise<never> {
  const body = await readSmallBody(res);
  const code = /<Code>([^<]+)<\/Code>/.exec(body)?.[1] ?? `HTTP ${res.statusCode}`;
  const message = /<Message>([^<]+)<\/Message>/.exec(body)?.[1] ?? '';
  const status = res.statusCode ?? 0;
  if (status === 403 || status === 404)
    throw new Retry(
      `${code}${message ? `: ${message}` : ''} from ${safeUrl(url)}: asking ECR for a fresh URL`,
      true,
      status === 404,
    );
  if (status >= 500 || status === 429) throw new Retry(`${code}${message ? `: ${message}` : ''} (HTTP ${status})`);
  throw new EcrxError(
    'SERVICE_ERROR',
    `Download of ${safeUrl(url)} failed: ${code}${message ? `: ${message}` : ''} (HTTP ${status})`,
  );
}

async function streamBody(
  res: IncomingMessage,
  fh: FileHandle,
  state: { written: number; hash: Hash },
  req: DownloadRequest,
): Promise<void> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (!pendingBytes) return;
    const chunks = pending;
    const n = pendingBytes;
    pending = [];
    pendingBytes = 0;
    // The hash runs while the write is in the thread pool. A failed write fails the whole download (it is not a
    // network error), so the hash never runs ahead of the bytes on disk for a resume.
    const written = writeAll(fh, chunks, state.written);
    for (const c of chunks) state.hash.update(c);
    await written;
    state.written += n;
    req.growing?.prefix(state.written);
    req.onProgress?.(state.written);
  };
  // 'data' events hand over the socket's own chunks; an async iterator would concatenate them into new buffers
  // (a copy of every byte, and most of a large pull's garbage). The stream pauses while a batch is written.
  let tooLong = false;
  const outcome = await new Promise<'end' | 'cut' | Error>((resolve) => {
    let writing: Promise<void> | undefined;
    let failed: Error | undefined;
    const settle = async (how: 'end' | 'cut') => {
      res.removeListener('data', onData);
      // A batch being written may start the next one: wait until none is in flight.
      while (writing) await writing;
      resolve(failed ?? how);
    };
    const write = () => {
      res.pause();
      writing = flush().then(
        () => {
          writing = undefined;
          if (pendingBytes >= FLUSH_BYTES) write();
          else res.resume();
        },
        (err) => {
          writing = undefined;
          failed = err;
          res.destroy();
        },
      );
    };
    const onData = (chunk: Buffer) => {
      if (tooLong) return;
      if (state.written + pendingBytes + chunk.length > req.size) {
        // More bytes than the manifest says: not this blob. Keep what fits, then fail the size check.
        tooLong = true;
        pending.push(chunk.subarray(0, req.size - state.written - pendingBytes));
        pendingBytes = req.size - state.written;
        res.destroy();
        return;
      }
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= FLUSH_BYTES && !writing) write();
    };
    res.on('data', onData);
    res.once('end', () => void settle('end'));
    res.once('error', () => undefined); // a cut shows as 'close' without 'end'; the reason is in res.complete
    res.once('close', () => void settle(res.complete && !tooLong ? 'end' : 'cut'));
  });
  if (outcome instanceof Error) throw outcome;
  await flush();
  if (tooLong) {
    state.written += 1;
    return;
  }
  if (outcome === 'cut' || !res.complete) {
    const stall = stallOf(res);
    throw new Retry(
      `connection ${stall ? `cut (${stall})` : 'cut'} after ${state.written} bytes: resuming with a Range request`,
    );
  }
}
