/**
 * Copy between ECR and another registry (either way, or between two registries), a preset of transfer(): any image
 * source through the cache into any image sink. The manifest bytes, and so the digest, are kept; only the blobs the
 * sink lacks move. ECR to ECR, with referrers and --all-tags, is engine/copy.ts.
 */
import type { BlobCache } from '../store/blob-cache.js';
import type { ImageSource } from '../sources/source.js';
import type { ImageSink } from '../sinks/sink.js';
import { cached, type StoreFiller } from './cached.js';
import { transfer, type TransferResult } from './transfer.js';
import { noEvents, type TransferEvents } from './events.js';

export interface CopyAcrossOptions {
  source: ImageSource & Partial<StoreFiller>;
  sink: ImageSink;
  cache: BlobCache;
  /** The tags the sink writes; empty: the sink's own default (a registry reference's tag, or by digest). */
  tags: string[];
  platform: string;
  concurrency: number;
  events: TransferEvents;
  signal: AbortSignal;
}

export interface CopyAcrossResult extends TransferResult {
  bytesDownloaded: number;
  bytesReused: number;
}

export async function copyAcross(o: CopyAcrossOptions): Promise<CopyAcrossResult> {
  const { events } = o;
  // The cache fill shows only its retries and notices: the bars follow what the sink receives.
  const fill: TransferEvents = { ...noEvents, retry: (w, r) => events.retry(w, r), notice: (t) => events.notice(t) };
  const source = cached(o.source, o.cache, { events: fill });
  const r = await transfer(
    source,
    o.sink,
    { platform: o.platform, tags: o.tags },
    { concurrency: o.concurrency, events, signal: o.signal },
  ).finally(() => source.close?.());
  const downloaded = source.bytesFilled;
  return { ...r, bytesDownloaded: downloaded, bytesReused: source.bytesReused };
}
