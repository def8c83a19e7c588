/**
 * Downloads one blob from ECR into the cache: store/ingest.ts over an ECR download-URL opener (ecr/blob-url.ts).
 * Large blobs come in ranges over several connections, a cut range resumes at its offset, an expired URL (403) is
 * replaced by a fresh one, S3 SlowDown and 5xx back off and shrink the run's connection budget, and a blob left
 * unfinished by an earlier run (killed, failed) continues from its partial. Digest and size are verified before
 * the blob takes its name; a mismatch discards the bytes and starts once more before it fails.
 */
import type { BlobStore } from '../store/blob-store.js';
import { ingest, TransientError, type IngestResult } from '../store/ingest.js';
import { blobUrlOpener } from '../ecr/blob-url.js';
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
  /** Continue a partial an earlier run left (default: unless --no-resume). */
  resume?: boolean;
  /** Told the file being written and how far it is final, for an upload streaming it (copy). */
  growing?: GrowingWriter;
}

/** Resolves with how many bytes came from a partial of an earlier run, and how many were fetched now. */
export async function downloadToCache(req: DownloadRequest): Promise<IngestResult> {
  const { open, invalidate } = blobUrlOpener({
    digest: req.digest,
    size: req.size,
    getUrl: req.getUrl,
    retry: (reason, opts) => new TransientError(reason, opts),
  });
  return ingest({
    digest: req.digest,
    size: req.size,
    open,
    cache: req.cache,
    signal: req.signal,
    maxStalled: req.maxStalled,
    resume: req.resume,
    growing: req.growing,
    onProgress: req.onProgress,
    onRetry: req.onRetry,
    onWait: req.onRetry,
    // After wrong bytes the next attempt asks ECR for a new URL, as a fresh start would.
    onMismatch: invalidate,
  });
}
