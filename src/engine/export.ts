/**
 * Export, a preset of transfer(): an image source (ECR, or another registry) through the cache into the rootfs sink (sinks/rootfs/sink.ts), which applies
 * the layers in a work directory the caller owns and places the result. Emits events; never prints.
 */
import type { Writable } from 'node:stream';
import type { BlobCache } from '../store/blob-cache.js';
import type { ImageSource } from '../sources/source.js';
import { RootfsSink } from '../sinks/rootfs/sink.js';
import type { Target } from '../sinks/rootfs/target.js';
import { cached, type StoreFiller } from './cached.js';
import { transfer } from './transfer.js';
import type { TransferEvents } from './events.js';

export interface ExportOptions {
  source: ImageSource & Partial<StoreFiller>;
  target: Target;
  /** An empty directory beside the target (or in TMPDIR for a stream): only ecrx writes there. */
  work: string;
  stream?: Writable;
  platform?: string;
  concurrency: number;
  cache: BlobCache;
  events: TransferEvents;
  signal: AbortSignal;
}

export interface ExportResult {
  digest: string;
  platform?: string;
  layers: number;
  /** The reader of the stream went away (`| head`): a normal end of a pipeline. */
  streamClosed: boolean;
}

export async function exportRootfs(o: ExportOptions): Promise<ExportResult> {
  const { events } = o;
  const sink = new RootfsSink(o.target, o.work, { stream: o.stream, events });
  const source = cached(o.source, o.cache, { events });
  const r = await transfer(
    source,
    sink,
    { platform: o.platform },
    { concurrency: o.concurrency, events, signal: o.signal, attempts: 1, direction: 'download' },
  ).finally(() => source.close?.());
  const image = r.set.images[0];
  return {
    digest: image.digest,
    platform: r.platform,
    layers: image.manifest.layers.length,
    streamClosed: sink.streamClosed,
  };
}
