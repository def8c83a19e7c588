/**
 * Push, a preset of transfer(): a local image (layout, OCI archive, docker-archive, stdin) into ECR. Every blob ECR
 * lacks is checked before the first upload; only those move. Emits events; never prints.
 */
import { formatReference, type ImageRef } from '../core/reference.js';
import type { Ecr } from '../ecr/client.js';
import type { BlobCache } from '../store/blob-cache.js';
import type { OpenedSource } from '../sources/open.js';
import { localSource } from '../sources/local.js';
import { EcrSink, ECR_UPLOADS_AT_ONCE, type SinkResult } from '../sinks/ecr.js';
import type { ImageSet } from '../oci/image-set.js';
import { pushReferrers, type PushedReferrer } from './push-referrers.js';
import { transfer } from './transfer.js';
import type { TransferEvents } from './events.js';

export interface PushOptions {
  ecr: Ecr;
  /** What the user named: a layout directory, an archive file, or - for stdin. */
  source: string;
  ref: ImageRef;
  tags: string[];
  platform?: string;
  /** Blobs at once; unset: ECR_UPLOADS_AT_ONCE. */
  concurrency?: number;
  cache: BlobCache;
  /** Also push the referrers (signatures, SBOMs, attestations) the source layout holds. */
  referrers?: boolean;
  events: TransferEvents;
  signal: AbortSignal;
}

export interface PushResult {
  opened: OpenedSource;
  set: ImageSet;
  result: SinkResult;
  referrers?: PushedReferrer[];
}

export async function pushImage(o: PushOptions): Promise<PushResult> {
  const { ecr, ref, events, signal } = o;
  const source = localSource(o.source, o.cache);
  const sink = new EcrSink(ecr, ref.repository, { spool: o.cache, events });
  const r = await transfer(
    source,
    sink,
    {
      platform: o.platform,
      tags: o.tags,
      expect: ref.digest ? { digest: ref.digest, reference: formatReference(ref) } : undefined,
      prepareFirst: true,
    },
    {
      concurrency: o.concurrency ?? ECR_UPLOADS_AT_ONCE,
      events,
      signal,
      attempts: 1,
      resolvePhase: `reading ${o.source === '-' ? 'stdin' : o.source}`,
    },
  );
  const opened = source.opened!;
  const referrers = o.referrers
    ? await pushReferrers({
        ecr,
        repository: ref.repository,
        opened,
        source: o.source,
        concurrency: o.concurrency ?? ECR_UPLOADS_AT_ONCE,
        reporter: events,
        signal,
      })
    : undefined;
  return {
    opened,
    set: r.set,
    result: {
      registryId: r.sink.registryId,
      layers: r.blobs.map((b) => ({ digest: b.digest, size: b.size, uploaded: sink.didUpload(b.digest) })),
      bytesUploaded: r.bytesMoved,
      bytesReused: sink.bytesReused,
    },
    referrers,
  };
}
