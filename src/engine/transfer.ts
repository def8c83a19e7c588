/**
 * The one engine: an image from any ImageSource into any ImageSink. It resolves the image (index, manifests; the
 * source verifies their bytes), asks the sink which blobs it lacks, moves each missing blob through verification
 * (engine/verify.ts) with one bounded pool and one retry rule, then has the sink write the manifests by their exact
 * bytes. It is the only place where concurrency, retries and events live; it never prints. pull, push, copy,
 * export and convert are presets of it (a source, a sink, a plan).
 */
import { Readable } from 'node:stream';
import { shortDigest } from '../core/digest.js';
import { EcrxError } from '../core/errors.js';
import { AbortScope } from '../core/abort-scope.js';
import { isNetworkError } from '../ecr/errors.js';
import { blobLabel, type ImageSet } from '../oci/image-set.js';
import type { Descriptor } from '../oci/manifest.js';
import type { ImageSource } from '../sources/source.js';
import type { BlobInput, ImageSink, SinkResult } from '../sinks/sink.js';
import { noEvents, type BlobInfo, type Direction, type TransferEvents } from './events.js';
import { verifier } from './verify.js';
import { MAX_CONFIG_BYTES } from '../oci/limits.js';
import { platformOfConfig, requirePlatform } from '../oci/platform.js';

export interface TransferPlan {
  /** os/arch[/variant] to pick from an index, "all" for every platform, or undefined for the source's default. */
  platform?: string;
  /** The names the sink writes the image under; absent: the names the source gave it (a conversion keeps them). */
  tags?: string[];
  /** The digest the image must have, and the reference that named it: another one is refused before any blob moves. */
  expect?: { digest: string; reference: string };
  /** Prepare (check) every blob the sink lacks before the first moves: a push is refused whole or not at all. */
  prepareFirst?: boolean;
}

export interface TransferOptions {
  /** Blobs moved at once (the one bounded pool). */
  concurrency: number;
  events?: TransferEvents;
  signal?: AbortSignal;
  /** Tries per blob for a failure that may pass (a dropped connection); 3 when absent. 1 for sinks and sources
   * that retry by themselves (ECR's uploads and downloads, with their own stall rules). */
  attempts?: number;
  /** How the bars label the blobs: "download" when the source is the remote side (export), else "upload". */
  direction?: Direction;
  /** Report a blob the source already holds (a cache hit) as skipped, "cached", rather than as a transfer (pull). */
  reportHits?: boolean;
  /** The phase said before the blobs move, given how many will ("fetching 4 blobs"); none when absent. */
  movePhase?: (count: number) => string;
  /** The first phase's text; "resolving <source>" when absent. */
  resolvePhase?: string;
}

export interface MovedBlob {
  digest: string;
  size: number;
  mediaType: string;
  /** False when the sink already had it. */
  moved: boolean;
}

export interface TransferResult {
  set: ImageSet;
  /** "linux/amd64", "all", or undefined for a single-platform image. */
  platform?: string;
  names: string[];
  blobs: MovedBlob[];
  bytesMoved: number;
  sink: SinkResult;
}

export async function transfer(
  source: ImageSource,
  sink: ImageSink,
  plan: TransferPlan,
  options: TransferOptions,
): Promise<TransferResult> {
  const events = options.events ?? noEvents;
  const { signal } = options;
  try {
    events.phase(options.resolvePhase ?? `resolving ${source.name}`);
    const resolved = await source.resolve({ platform: plan.platform, signal });
    const { set } = resolved;
    if (plan.expect && plan.expect.digest !== set.top.digest)
      throw new EcrxError(
        'DIGEST_MISMATCH',
        `${plan.expect.reference} names digest ${plan.expect.digest}, but the source's image is ${set.top.digest}`,
        { details: { expected: plan.expect.digest, actual: set.top.digest } },
      );
    sink.check?.(set);
    const platform = resolved.platform ?? (await platformOfSingle(source, set, plan.platform, signal));
    const missing = new Set((await sink.missing(set.blobs, signal)).map((d) => d.digest));
    const info = (d: Descriptor): BlobInfo => ({
      digest: d.digest,
      size: d.size,
      label: blobLabel(set.images, d.digest),
    });
    events.expect?.(set.blobs.map(info), options.direction ?? 'upload');
    for (const d of set.blobs) if (!missing.has(d.digest)) events.blobSkipped(info(d), 'exists');
    const toMove = set.blobs.filter((d) => missing.has(d.digest));
    if (plan.prepareFirst && source.prepare) {
      const prepare = source.prepare.bind(source);
      if (toMove.length) events.phase(`verifying ${toMove.length} blob${toMove.length === 1 ? '' : 's'}`);
      await pool(toMove, 2, (d, s) => prepare(d, { signal: s }), signal);
    }
    let bytesMoved = 0;
    const move = async (d: Descriptor, s: AbortSignal) => {
      const hit = options.reportHits && source.hit ? await source.hit(d, { signal: s }) : false;
      if (hit) events.blobSkipped(info(d), 'cached');
      else events.blobStart(info(d));
      const sent = await moveBlob(source, sink, d, { ...options, events, signal: s });
      bytesMoved += sent;
      if (!hit) events.blobDone(d.digest);
    };
    if (options.movePhase) events.phase(options.movePhase(toMove.length));
    // What the source starts ahead for these blobs (download URLs) stops with the moves, however they end: nothing
    // may still be asking, or retrying, after the run has failed and said so.
    const ahead = new AbortController();
    const stopAhead = () => ahead.abort(signal?.reason);
    signal?.addEventListener('abort', stopAhead, { once: true });
    source.willNeed?.(toMove, { signal: ahead.signal });
    try {
      await pool(toMove, options.concurrency, move, signal);
    } finally {
      signal?.removeEventListener('abort', stopAhead);
      ahead.abort();
    }
    events.phase(`writing ${sink.name}`);
    const written = await sink.writeImage(set, plan.tags ?? resolved.names ?? [], signal);
    return {
      set,
      platform,
      names: resolved.names ?? [],
      blobs: set.blobs.map((d) => ({
        digest: d.digest,
        size: d.size,
        mediaType: d.mediaType,
        moved: missing.has(d.digest),
      })),
      bytesMoved,
      sink: written,
    };
  } catch (err) {
    await sink.abort();
    throw err;
  }
}

/**
 * The platform rule every command follows: a single-platform image asked for with --platform is held to it by its
 * config, read (and verified) before any layer moves. Undefined when no platform was asked for.
 */
async function platformOfSingle(
  source: ImageSource,
  set: ImageSet,
  wanted: string | undefined,
  signal?: AbortSignal,
): Promise<string | undefined> {
  if (!wanted || wanted === 'all' || set.images.length !== 1) return undefined;
  const config = set.images[0].manifest.config;
  // A config too large to be one declares no platform we would read into memory.
  const bytes = config.size <= MAX_CONFIG_BYTES ? await readVerified(source, config, signal) : undefined;
  return requirePlatform(wanted, bytes && platformOfConfig(bytes), source.name);
}

async function readVerified(source: ImageSource, d: Descriptor, signal?: AbortSignal): Promise<Buffer> {
  const check = verifier(d, source.name, false);
  const chunks: Buffer[] = [];
  for await (const chunk of check.watch(openFrom(source, d, 0, signal ?? new AbortController().signal), 0))
    chunks.push(chunk as Buffer);
  await check.verified;
  return Buffer.concat(chunks);
}

/** The one bounded pool: `concurrency` tasks at once, the first failure stopping the rest (AbortScope). */
export async function pool<T>(
  items: T[],
  concurrency: number,
  task: (item: T, signal: AbortSignal) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const { default: pLimit } = await import('p-limit');
  const limit = pLimit(Math.max(1, concurrency));
  const scope = new AbortScope(signal);
  try {
    await Promise.all(
      items.map((item) =>
        limit(async () => {
          if (scope.signal.aborted) return;
          try {
            await scope.run((s) => task(item, s));
          } catch (err) {
            scope.fail(err);
          }
        }),
      ),
    );
  } finally {
    scope.dispose();
  }
  scope.throwIfFailed();
  if (signal?.aborted) throw signal.reason;
}

/** One blob, source to sink, tried again while the failure is one that may pass. Returns the bytes sent. */
async function moveBlob(
  source: ImageSource,
  sink: ImageSink,
  d: Descriptor,
  o: TransferOptions & { events: TransferEvents; signal: AbortSignal },
): Promise<number> {
  const attempts = o.attempts ?? 3;
  // A sink that takes a growing file gets the blob while the source still fills it (copy: upload while download).
  const streaming = sink.streams && source.stream ? source.stream(d, { signal: o.signal }) : undefined;
  if (!streaming) await source.prepare?.(d, { signal: o.signal });
  const path = source.trusted && !streaming ? source.localPath?.(d.digest) : undefined;
  const check = verifier(d, source.name, Boolean(source.trusted));
  const input: BlobInput = {
    descriptor: d,
    open: (offset, signal) => check.watch(openFrom(source, d, offset, signal ?? o.signal), offset),
    ...(path ? { path } : {}),
    ...(streaming ? { growing: streaming.file } : {}),
    verified: streaming ? streaming.done.then(() => check.verified) : check.verified,
  };
  input.verified.catch(() => undefined); // awaited below; a sink that failed first must not leave it unhandled
  for (let attempt = 1; ; attempt++) {
    try {
      const written = await sink.writeBlob(input, o.events, o.signal);
      await check.verified;
      return written.bytes;
    } catch (err) {
      if (attempt >= attempts || o.signal.aborted || !isNetworkError(err)) throw err;
      o.events.retry(shortDigest(d.digest), `${(err as Error).message} (attempt ${attempt + 1} of ${attempts})`);
    }
  }
}

/**
 * The blob's bytes from `offset`, as a stream that opens the source lazily. A source that could not honour the
 * range (a server that sent the whole blob) starts earlier: the bytes before `offset` are dropped here.
 */
function openFrom(source: ImageSource, d: Descriptor, offset: number, signal: AbortSignal): Readable {
  async function* bytes() {
    const opened = await source.openBlob(d, { range: offset ? { offset } : undefined, signal });
    let skip = offset - opened.offset;
    for await (const chunk of opened.body as AsyncIterable<Buffer>) {
      if (skip >= chunk.length) {
        skip -= chunk.length;
        continue;
      }
      yield skip > 0 ? chunk.subarray(skip) : chunk;
      skip = 0;
    }
  }
  return Readable.from(bytes(), { objectMode: false });
}
