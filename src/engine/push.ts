/** Push: open the source (checked whole before any upload), then write it into ECR. Emits events; never prints. */
import { EcrxError } from '../core/errors.js';
import { formatReference, type ImageRef } from '../core/reference.js';
import type { Ecr } from '../ecr/client.js';
import type { BlobCache } from '../store/blob-cache.js';
import { openSource, type OpenedSource } from '../sources/open.js';
import { pushToEcr, type SinkResult } from '../sinks/ecr.js';
import type { ImageSet } from '../oci/image-set.js';
import { pushReferrers, type PushedReferrer } from './push-referrers.js';
import type { TransferEvents } from './events.js';

export interface PushOptions {
  ecr: Ecr;
  /** What the user named: a layout directory, an archive file, or - for stdin. */
  source: string;
  ref: ImageRef;
  tags: string[];
  platform?: string;
  concurrency: number;
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
  events.phase(`reading ${o.source === '-' ? 'stdin' : o.source}`);
  const opened = await openSource(o.source, o.cache, { platform: o.platform, signal });
  const { set } = opened;
  if (ref.digest && ref.digest !== set.top.digest) {
    throw new EcrxError(
      'DIGEST_MISMATCH',
      `${formatReference(ref)} names digest ${ref.digest}, but the source's image is ${set.top.digest}`,
      { details: { expected: ref.digest, actual: set.top.digest } },
    );
  }
  const result = await pushToEcr({
    ecr,
    repository: ref.repository,
    set,
    blobPath: (d) => opened.pathOf(d),
    verifyBeforeUpload: opened.verify,
    tags: o.tags,
    concurrency: o.concurrency,
    reporter: events,
    signal,
  });
  const referrers = o.referrers
    ? await pushReferrers({
        ecr,
        repository: ref.repository,
        opened,
        source: o.source,
        concurrency: o.concurrency,
        reporter: events,
        signal,
      })
    : undefined;
  return { opened, set, result, referrers };
}
