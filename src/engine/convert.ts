/** Convert: a local image into another local format (layout, OCI archive, docker-archive), digests kept. A preset. */
import type { BlobCache } from '../store/blob-cache.js';
import { localSource } from '../sources/local.js';
import { LocalSink, type LocalFormat } from '../sinks/local.js';
import type { OutputPlan } from '../sinks/output-target.js';
import type { SourceKind } from '../sources/open.js';
import { transfer, type TransferResult } from './transfer.js';
import { noEvents, type TransferEvents } from './events.js';

export interface ConvertOptions {
  /** What the user named: a layout directory (DIR[:NAME]), an archive file, or - for stdin. */
  source: string;
  /** Where the output goes, settled (and refused if it is not ecrx's to replace) before anything is read. */
  plan: OutputPlan;
  format: LocalFormat;
  /** Archives are unpacked into this store. */
  store: BlobCache;
  platform?: string;
  concurrency: number;
  events?: TransferEvents;
  signal?: AbortSignal;
  stdin?: NodeJS.ReadableStream;
}

export interface ConvertResult extends TransferResult {
  sourceKind: SourceKind;
  replaced: boolean;
}

export async function convertImage(o: ConvertOptions): Promise<ConvertResult> {
  const events = o.events ?? noEvents;
  const source = localSource(o.source, o.store, { stdin: o.stdin });
  const sink = new LocalSink(o.plan, o.format, {
    onReplace: (target, previous) => events.notice(`replacing earlier ecrx output at ${target} (${previous})`),
  });
  const result = await transfer(
    source,
    sink,
    { platform: o.platform },
    { concurrency: o.concurrency, events, signal: o.signal },
  );
  return { ...result, sourceKind: source.opened!.kind, replaced: sink.replaced };
}
