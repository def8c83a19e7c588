/**
 * Brings one blob into the store from anything that can open it at an offset (an ECR download URL, a layout file,
 * any ImageSource's openBlob). The bytes land in a partial file kept across runs (store/partials.ts), written at
 * their offsets; a blob of RANGED_THRESHOLD bytes or more is split into pieces fetched over several connections
 * of the run's connection budget (net/budget.ts). Hashing trails the writers: bytes that arrive in order are hashed
 * as they pass, and whatever was written ahead of the hash is read back from the file once the bytes before it are
 * there, so memory stays bounded (about 1 MiB per connection) whatever the blob's size.
 *
 * A cut piece resumes at its own offset; a server that ignores Range (an answer at offset 0 to a request further
 * on) is read as one stream from the start. The digest and size are checked before the file takes the digest's
 * name; a mismatch throws the bytes away and fetches once more, then fails DIGEST_MISMATCH or SIZE_MISMATCH.
 * A partial left by an earlier run is continued, its bytes hashed again like any others: never trusted unverified.
 */
import { createHash, type Hash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { open as openFile, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { EcrxError } from '../core/errors.js';
import { backoffDelay, sleep } from '../core/retry.js';
import { writeAll } from '../core/write-all.js';
import { sha256Digest } from '../core/digest.js';
import { sizeMismatch } from '../core/verify.js';
import { runBudget, type ConnectionBudget } from '../net/budget.js';
import type { BlobStore } from './blob-store.js';
import { PartialStore } from './partials.js';
import type { GrowingWriter } from '../core/growing.js';
import { RangeSet, splitGaps, type Span } from './ranges.js';

export interface IngestRange {
  offset: number;
  length?: number;
}

export interface IngestOpened {
  body: Readable;
  /** Where body's first byte sits in the blob: 0 when the server ignored the range asked for. */
  offset: number;
  /** The blob's whole size when the answer says it (Content-Range total, a 200's Content-Length). */
  total?: number;
  /** Why the body stopped early, when the opener knows (a read timeout it enforced). */
  why?: () => string | undefined;
}

/** Structurally ImageSource.openBlob bound to one descriptor. */
export type BlobOpener = (range: IngestRange, signal: AbortSignal) => Promise<IngestOpened>;

/** A failure worth another attempt; `throttle` also halves the connection budget. */
export class TransientError extends Error {
  constructor(
    readonly reason: string,
    readonly opts: { backoff?: boolean; throttle?: boolean } = {},
  ) {
    super(reason);
  }
}

export interface IngestRequest {
  digest: string;
  size: number;
  open: BlobOpener;
  cache: BlobStore;
  signal?: AbortSignal;
  /** Connections come from here (default: the run's budget). */
  budget?: ConnectionBudget;
  /** Continue a partial left by an earlier run (default: ingestDefaults.resume, i.e. unless --no-resume). */
  resume?: boolean;
  /** Failed attempts in a row that moved no bytes before giving up (default 10). */
  maxStalled?: number;
  /** Blobs of at least this many bytes are fetched in ranges (default 32 MiB). */
  rangedThreshold?: number;
  /** Ranges of this blob in flight at once, at most (default RANGES_AT_ONCE). */
  rangesAtOnce?: number;
  /** Bytes per range (default 16 MiB). */
  rangeSize?: number;
  /** Bytes on disk so far (reused ones included). */
  onProgress?: (bytes: number) => void;
  onRetry?: (reason: string) => void;
  /** Another process is downloading the same blob: this one waits for it. */
  onWait?: (reason: string) => void;
  /** Another attempt after a mismatch wants fresh state from the source (a new URL). */
  onMismatch?: () => void;
  /** Told the file being written and its written-and-hashed-in-order prefix, for a reader streaming it (copy). */
  growing?: GrowingWriter;
}

export interface IngestResult {
  /** Bytes taken from a partial an earlier run left (verified with the rest). */
  reusedBytes: number;
  /** Bytes fetched by this run. */
  downloadedBytes: number;
  /** Another process brought the blob in while this one waited. */
  byOtherProcess: boolean;
}

/** Process-wide defaults the CLI sets from its options (--no-resume). */
export const ingestDefaults = { resume: true };

export const RANGED_THRESHOLD = 32 << 20;
export const RANGE_SIZE = 16 << 20;
/**
 * Ranges of one blob in flight at once. S3 serves each connection at tens of MB/s, so eight fill most links; more
 * only add CPU per byte (more, smaller socket reads and more of the blob hashed by reading it back), which on a
 * 2-core machine made one 1 GiB layer slower (7.1 s at 32 ranges against 5.2 s at 8, at 50 MB/s per connection).
 * Other blobs of the run use the rest of the connection budget.
 */
export const RANGES_AT_ONCE = 8;
const FLUSH_BYTES = 1 << 20;
/** How often the partial's record is rewritten while bytes arrive: what a kill can lose per piece in flight. */
const RECORD_EVERY_MS = 500;
/** ... or every this many new bytes, so on a fast link a kill still loses less than one range. */
const RECORD_EVERY_BYTES = 8 << 20;

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED', 'EAI_AGAIN']);

function isTransient(err: unknown): boolean {
  if (err instanceof TransientError) return true;
  const e = err as { code?: string; cause?: { code?: string }; message?: string } | undefined;
  return Boolean(
    e &&
    (NETWORK_CODES.has(e.code ?? '') ||
      NETWORK_CODES.has(e.cause?.code ?? '') ||
      /socket hang up/.test(String(e.message))),
  );
}

/** The server answered from byte 0 a request for a later offset: Range is not honoured. Carries that answer. */
class RangeIgnored extends Error {
  constructor(readonly opened: IngestOpened) {
    super('the server ignored Range');
  }
}

class Mismatch extends Error {
  constructor(
    readonly code: 'SIZE_MISMATCH' | 'DIGEST_MISMATCH',
    message: string,
    readonly details: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** The one digest a 0-byte blob can have. */
const EMPTY_DIGEST = sha256Digest(Buffer.alloc(0));

export async function ingest(req: IngestRequest): Promise<IngestResult> {
  // No request could verify a descriptor that says 0 bytes for content that is not empty: its size is the lie.
  if (req.size === 0 && req.digest !== EMPTY_DIGEST)
    throw sizeMismatch(`Blob ${req.digest}`, 0, Number.NaN, {
      message: `Blob ${req.digest} is described as 0 bytes, but that is not the digest of empty content`,
      details: { digest: req.digest },
    });
  const partials = new PartialStore(req.cache.root);
  const resume = req.resume ?? ingestDefaults.resume;
  const release = await partials.lock(req.digest, {
    signal: req.signal,
    onWait: (pid) => req.onWait?.(`another ecrx process (pid ${pid}) is downloading ${req.digest}: waiting for it`),
    ready: () => req.cache.hasVerified(req.digest, req.size, { signal: req.signal }),
  });
  if (!release) return { reusedBytes: 0, downloadedBytes: 0, byOtherProcess: true };
  let keep = resume;
  let committed = false;
  try {
    // The blob may have arrived while this process waited for the lock.
    if (await req.cache.hasVerified(req.digest, req.size, { signal: req.signal })) {
      await partials.discard(req.digest);
      return { reusedBytes: 0, downloadedBytes: 0, byOtherProcess: true };
    }
    const { fh, ranges, rec } = await openPartial(partials, req, resume);
    req.growing?.started(partials.dataPath(req.digest));
    const job = new Job(req, fh, partials, new RangeSet(ranges), rec);
    try {
      const result = await job.run();
      keep = false;
      committed = true;
      return result;
    } catch (err) {
      if (err instanceof EcrxError && (err.code === 'DIGEST_MISMATCH' || err.code === 'SIZE_MISMATCH')) keep = false;
      // A partial is kept only when it holds bytes worth continuing from.
      else if (keep) keep = await job.saveRecord();
      throw err;
    } finally {
      await fh.close().catch(() => undefined);
    }
  } finally {
    // A failed or interrupted download stays for the next run, unless it was wrong or resuming is off. A committed
    // one has nothing left to discard: its record is gone and its bytes took the digest's name.
    if (!keep && !committed) await partials.discard(req.digest).catch(() => undefined);
    await release();
  }
}

/**
 * The partial an earlier run left (its record checked against the file), or a new empty one. `rec` says whether a
 * record may be on disk now (so the success path knows whether there is one to remove).
 */
async function openPartial(
  partials: PartialStore,
  req: IngestRequest,
  resume: boolean,
): Promise<{ fh: FileHandle; ranges: Span[]; rec: boolean }> {
  const rec = resume ? await partials.readRecord(req.digest, req.size) : null;
  if (rec) {
    try {
      const fh = await openFile(partials.dataPath(req.digest), 'r+');
      const onDisk = (await fh.stat()).size;
      // A record that claims bytes past the file's end is not believed at all.
      if (rec.ranges.every(([, e]) => e <= onDisk)) return { fh, ranges: rec.ranges, rec: true };
      await fh.close();
    } catch {
      // the data file is gone or unreadable: start afresh
    }
  }
  // No record at all (undefined): nothing to forget, and 'w+' empties any data file an earlier run left. A record
  // that is unreadable, not believed or not wanted (--no-resume) is removed first.
  if (rec !== undefined) await partials.dropRecord(req.digest);
  return { fh: await openFile(partials.dataPath(req.digest), 'w+'), ranges: [], rec: false };
}

/** One blob's download: the pieces still missing, the workers fetching them, the trailing hash. */
class Job {
  private readonly budget: ConnectionBudget;
  private readonly maxStalled: number;
  private hash: Hash = createHash('sha256');
  private hashed = 0;
  private catchingUp = false;
  private catchUpDone: Promise<void> = Promise.resolve();
  private reused: number;
  private downloaded = 0;
  private stalled = 0;
  private failures = 0;
  /** Bytes on disk at the last failure: an attempt that got no further than that moved nothing. */
  private onDiskAtLastFailure = 0;
  private mismatches = 0;
  private lastRecord = 0;
  private recordedTotal = 0;
  private recordInFlight = false;
  private recording: Promise<void> = Promise.resolve();
  private queue: Span[] = [];
  /** Set once any answer showed the server ignores Range: from then on only whole streams from 0. */
  private whole = false;

  /** A record of this partial may be on disk (read at the start, or written since). */
  private recorded: boolean;

  constructor(
    private readonly req: IngestRequest,
    private readonly fh: FileHandle,
    private readonly partials: PartialStore,
    private readonly done: RangeSet,
    recorded: boolean,
  ) {
    this.budget = req.budget ?? runBudget();
    this.maxStalled = req.maxStalled ?? 10;
    this.reused = done.total;
    this.recorded = recorded;
    // The first record is due after RECORD_EVERY_MS, not at the first bytes: a blob that arrives faster than that
    // (most small ones) never writes one, and a kill before it loses less than that much work.
    this.lastRecord = Date.now();
  }

  async run(): Promise<IngestResult> {
    const { req } = this;
    if (this.reused) req.onProgress?.(this.done.total);
    for (;;) {
      try {
        await this.fetchAll();
        await this.verify();
        await this.recording;
        if (this.recorded) await this.partials.dropRecord(req.digest);
        await req.cache.commit(this.partials.dataPath(req.digest), req.digest);
        return { reusedBytes: this.reused, downloadedBytes: this.downloaded, byOtherProcess: false };
      } catch (err) {
        if (!(err instanceof Mismatch)) throw err;
        this.mismatches++;
        if (this.mismatches >= 2) throw mismatchError(err, req.digest);
        // Wrong bytes (perhaps a bad partial from an earlier run): start again from nothing, once.
        req.onRetry?.(`${err.message}: downloading once more`);
        req.onMismatch?.();
        await this.restart();
        this.reused = 0;
      }
    }
  }

  private async restart(): Promise<void> {
    this.req.growing?.prefix(0); // before a byte changes: a reader of the old bytes starts again
    await this.recording;
    await this.catchUpDone;
    await this.fh.truncate(0);
    this.done.clear();
    this.recordedTotal = 0;
    this.hash = createHash('sha256');
    this.hashed = 0;
    await this.partials.dropRecord(this.req.digest);
    this.req.onProgress?.(0);
  }

  /** Fetches every missing byte: ranged over several connections, or as one stream. */
  private async fetchAll(): Promise<void> {
    const { size } = this.req;
    const gaps = this.done.gaps(size);
    if (!gaps.length) return;
    const ranged = !this.whole && size >= (this.req.rangedThreshold ?? RANGED_THRESHOLD);
    this.queue = ranged ? splitGaps(gaps, this.req.rangeSize ?? RANGE_SIZE) : gaps;
    try {
      await this.runWorkers(ranged);
    } catch (err) {
      if (!(err instanceof RangeIgnored)) throw err;
      this.req.onRetry?.('the server ignores Range requests: downloading the blob as one stream');
      err.opened.body.destroy();
      this.whole = true;
      await this.restart();
      this.queue = [];
      await this.wholeStream();
    }
  }

  /**
   * The first piece asked for starts past byte 0 when there is one, so a server that ignores Range shows it on the
   * first answer (at offset 0), before any other connection opens; that answer is then read as the whole blob.
   */
  private async runWorkers(ranged: boolean): Promise<void> {
    const stop = new AbortController();
    // Each worker listens on it a few times (waiting for a connection, its request, its body): bounded by the
    // workers, not a leak, so Node's warning at 10 is raised to what this many workers may hold.
    setMaxListeners(4 * this.budget.ceiling + 10, stop.signal);
    const onAbort = () => stop.abort(this.req.signal?.reason);
    this.req.signal?.addEventListener('abort', onAbort, { once: true });
    const probeIndex = this.queue.findIndex(([s]) => s > 0);
    if (probeIndex > 0) this.queue.unshift(...this.queue.splice(probeIndex, 1));
    let firstAnswer!: () => void;
    const answered = new Promise<void>((r) => (firstAnswer = r));
    const workers: Promise<void>[] = [];
    let failure: unknown;
    const worker = async (first: boolean) => {
      try {
        if (!first) await Promise.race([answered, aborted(stop.signal)]);
        while (this.queue.length && !stop.signal.aborted) {
          const slot = await this.budget.acquire(stop.signal);
          try {
            const piece = this.queue.shift();
            if (!piece) return;
            await this.fetchPiece(piece, stop.signal, first ? firstAnswer : undefined);
          } finally {
            slot();
          }
          first = false;
        }
      } catch (err) {
        if (!stop.signal.aborted) {
          failure = err;
          stop.abort(err);
        }
      } finally {
        firstAnswer();
      }
    };
    try {
      workers.push(worker(true));
      const extra = ranged
        ? Math.min(this.queue.length, this.budget.ceiling, this.req.rangesAtOnce ?? RANGES_AT_ONCE) - 1
        : 0;
      for (let i = 0; i < extra; i++) workers.push(worker(false));
      await Promise.all(workers);
    } finally {
      this.req.signal?.removeEventListener('abort', onAbort);
    }
    if (this.req.signal?.aborted) throw this.req.signal.reason;
    if (failure !== undefined) throw failure;
  }

  /** Fetches one piece, resuming it at its own offset after a cut, until all of it is on disk. */
  private async fetchPiece(piece: Span, signal: AbortSignal, onAnswer?: () => void): Promise<void> {
    let [at] = piece;
    const end = piece[1];
    while (at < end) {
      if (signal.aborted) throw signal.reason;
      try {
        // To the blob's end needs no length: a whole small blob is then a plain GET without Range.
        const length = end === this.req.size ? undefined : end - at;
        const opened = await this.req.open({ offset: at, length }, signal);
        onAnswer?.();
        this.checkTotal(opened);
        if (opened.offset !== at) {
          if (opened.offset === 0) throw new RangeIgnored(opened);
          opened.body.destroy();
          throw new TransientError(`the server answered from byte ${opened.offset} when asked for byte ${at}`);
        }
        at = await this.stream(opened.body, at, end, signal);
        if (at < end)
          throw new TransientError(`connection ${cutWhy(opened)} at byte ${at} of ${this.req.size}: resuming there`);
      } catch (err) {
        onAnswer?.();
        if (!isTransient(err) || signal.aborted) throw err;
        await this.failed(err, signal);
      }
    }
  }

  /** A server that ignores Range: the whole blob in one stream, from 0 again after every cut. */
  private async wholeStream(): Promise<void> {
    const { size } = this.req;
    for (;;) {
      const signal = this.req.signal ?? new AbortController().signal;
      const slot = await this.budget.acquire(signal);
      try {
        const opened = await this.req.open({ offset: 0 }, signal);
        this.checkTotal(opened);
        const reached = await this.stream(opened.body, 0, size, signal);
        if (reached >= size) return;
        throw new TransientError(
          `connection ${cutWhy(opened)} at byte ${reached} of ${size}; the server ignores Range: from 0 again`,
        );
      } catch (err) {
        if (!isTransient(err) || signal.aborted) throw err;
        await this.failed(err, signal);
        await this.restart();
      } finally {
        slot();
      }
    }
  }

  private checkTotal(opened: IngestOpened): void {
    if (opened.total === undefined || opened.total === this.req.size) return;
    opened.body.destroy();
    throw new Mismatch(
      'SIZE_MISMATCH',
      `Blob ${this.req.digest} should be ${this.req.size} bytes but the registry's copy has ${opened.total}`,
      { expected: this.req.digest, expectedSize: this.req.size, actualSize: opened.total },
    );
  }

  /** Counts a failed attempt, gives up after maxStalled in a row without progress, backs off. */
  private async failed(err: unknown, signal: AbortSignal): Promise<void> {
    const t = err instanceof TransientError ? err : undefined;
    const reason = t?.reason ?? `connection failed: ${(err as Error).message}`;
    this.failures++;
    // Progress is bytes on disk, not bytes received: a server that sends the same first half again and again,
    // ignoring Range, gets no further and runs out of attempts.
    this.stalled = this.done.total > this.onDiskAtLastFailure ? 0 : this.stalled + 1;
    this.onDiskAtLastFailure = this.done.total;
    this.budget.onThrottle();
    if (this.stalled >= this.maxStalled) {
      throw new EcrxError(
        'NETWORK_ERROR',
        `Downloading ${this.req.digest} failed ${this.failures} times${this.failures === this.stalled ? '' : `, the last ${this.stalled} in a row`} without moving a byte; last: ${reason}`,
        {
          hint: 'Check the network and any proxy, then run the same command again: finished blobs are kept in the cache and this one continues where it stopped. --max-attempts allows more tries.',
        },
      );
    }
    this.req.onRetry?.(reason);
    if (t?.opts.backoff !== false) await sleep(backoffDelay(this.stalled + 1, 200, 10_000), signal);
  }

  /**
   * Writes a body at `from` until `end` (more than that is not this piece: it is dropped), and returns where it
   * stopped. Socket chunks are written in batches of about 1 MiB while the body is paused.
   */
  private stream(body: Readable, from: number, end: number, signal: AbortSignal): Promise<number> {
    let at = from;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let tooLong = false;
    const flush = async () => {
      if (!pendingBytes) return;
      const chunks = pending;
      const n = pendingBytes;
      const pos = at;
      pending = [];
      pendingBytes = 0;
      const inOrder = pos === this.hashed && !this.catchingUp;
      const written = writeAll(this.fh, chunks, pos);
      if (inOrder) {
        for (const c of chunks) this.hash.update(c);
        this.hashed += n;
      }
      await written;
      at += n;
      this.done.add(pos, pos + n);
      // Announced only once written and hashed in order: what a streaming upload may read.
      this.req.growing?.prefix(Math.min(this.hashed, this.done.prefixEnd()));
      this.downloaded += n;
      this.budget.onBytes(n);
      this.req.onProgress?.(this.done.total);
      this.trailHash();
      this.maybeRecord();
    };
    return new Promise<number>((resolve, reject) => {
      let writing: Promise<void> | undefined;
      let failed: unknown;
      let settled = false;
      const settle = async () => {
        if (settled) return;
        settled = true;
        body.removeListener('data', onData);
        while (writing) await writing;
        if (failed === undefined) {
          try {
            await flush();
          } catch (err) {
            failed = err;
          }
        }
        if (failed !== undefined) return reject(failed);
        signal.removeEventListener('abort', onAbort);
        if (tooLong && end === this.req.size) {
          // More bytes than the blob has: not this blob.
          return reject(
            new Mismatch(
              'SIZE_MISMATCH',
              `Blob ${this.req.digest} should be ${this.req.size} bytes but the download had more`,
              {
                expected: this.req.digest,
                expectedSize: this.req.size,
              },
            ),
          );
        }
        resolve(at);
      };
      const write = () => {
        body.pause();
        writing = flush().then(
          () => {
            writing = undefined;
            if (pendingBytes >= FLUSH_BYTES) write();
            else if (!settled) body.resume();
          },
          (err) => {
            writing = undefined;
            failed = err;
            body.destroy();
          },
        );
      };
      const onData = (chunk: Buffer) => {
        if (tooLong) return;
        const room = end - at - pendingBytes;
        if (chunk.length > room) {
          // Past the piece's end: the rest belongs to another piece, or (past the blob's end) to no blob at all.
          if (room > 0) {
            pending.push(chunk.subarray(0, room));
            pendingBytes += room;
          }
          tooLong = true;
          body.removeListener('data', onData);
          body.destroy();
          void settle();
          return;
        }
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= FLUSH_BYTES && !writing) write();
      };
      const onAbort = () => body.destroy();
      signal.addEventListener('abort', onAbort, { once: true });
      body.on('data', onData);
      body.once('end', () => void settle());
      body.once('error', () => void settle()); // a cut: what arrived is kept and the piece resumes
      body.once('close', () => void settle());
    });
  }

  /** Reads back from the file and hashes whatever was written ahead of the hash, once the bytes before it are in. */
  private trailHash(): void {
    if (this.catchingUp || this.done.prefixEnd() <= this.hashed) return;
    this.catchingUp = true;
    this.catchUpDone = (async () => {
      const buf = Buffer.allocUnsafe(FLUSH_BYTES);
      try {
        while (this.hashed < this.done.prefixEnd()) {
          const want = Math.min(buf.length, this.done.prefixEnd() - this.hashed);
          const { bytesRead } = await this.fh.read(buf, 0, want, this.hashed);
          if (bytesRead <= 0)
            throw Object.assign(new Error(`the partial file ends at byte ${this.hashed}`), { code: 'EIO' });
          this.hash.update(buf.subarray(0, bytesRead));
          this.hashed += bytesRead;
          this.req.growing?.prefix(this.hashed);
        }
      } finally {
        this.catchingUp = false;
      }
    })();
    this.catchUpDone.catch(() => undefined);
  }

  /** The record as it stands, for a run that stops here (a failure, Ctrl-C): the next run continues from it. */
  async saveRecord(): Promise<boolean> {
    await this.recording;
    if (this.done.total === 0) return false;
    this.recorded = true;
    return this.partials
      .writeRecord({ v: 1, digest: this.req.digest, size: this.req.size, ranges: this.done.toJSON() })
      .then(
        () => true,
        () => false,
      );
  }

  /** Rewrites the partial's record now and then, claiming only bytes whose writes completed. */
  private maybeRecord(): void {
    const now = Date.now();
    const due = now - this.lastRecord >= RECORD_EVERY_MS || this.done.total - this.recordedTotal >= RECORD_EVERY_BYTES;
    // One write at a time: the next one, when due, takes the ranges as they are then.
    if (!due || this.recordInFlight) return;
    this.lastRecord = now;
    this.recordInFlight = true;
    this.recording = this.recording
      .then(() => {
        const ranges = this.done.toJSON();
        this.recordedTotal = this.done.total;
        this.recorded = true;
        return this.partials.writeRecord({ v: 1, digest: this.req.digest, size: this.req.size, ranges });
      })
      .catch(() => undefined) // a record that cannot be written only costs the next run its head start
      .finally(() => (this.recordInFlight = false));
  }

  /** Every byte on disk and hashed, the size and digest right: or a Mismatch. */
  private async verify(): Promise<void> {
    const { size, digest } = this.req;
    for (;;) {
      await this.catchUpDone;
      if (this.catchingUp) continue;
      if (this.done.prefixEnd() <= this.hashed) break;
      this.trailHash();
    }
    if (this.hashed !== size || this.done.prefixEnd() !== size) {
      throw new Mismatch(
        'SIZE_MISMATCH',
        `Blob ${digest} should be ${size} bytes but the download had ${this.hashed}`,
        {
          expected: digest,
          expectedSize: size,
          actualSize: this.hashed,
        },
      );
    }
    const actual = `sha256:${this.hash.digest('hex')}`;
    if (actual !== digest) {
      throw new Mismatch('DIGEST_MISMATCH', `Blob ${digest} downloaded with the wrong content: got ${actual}`, {
        expected: digest,
        actual,
        actualSize: size,
      });
    }
    const onDisk = (await this.fh.stat()).size;
    if (onDisk !== size) {
      throw new EcrxError(
        'OUTPUT_ERROR',
        `The cache file for ${digest} holds ${onDisk} of its ${size} bytes after writing`,
        {
          hint: 'The file system lost writes without an error. Check the disk holding --cache-dir, then run the same command again.',
        },
      );
    }
  }
}

function mismatchError(m: Mismatch, digest: string): EcrxError {
  const message =
    m.code === 'DIGEST_MISMATCH'
      ? `Blob ${digest} downloaded twice with the wrong content: expected ${digest}, got ${String(m.details.actual)}`
      : m.message;
  return new EcrxError(m.code, message, {
    details: m.details,
    hint: 'The bytes were discarded and nothing was written. The registry holds a blob that does not match its digest, or something on the way changes it.',
  });
}

function cutWhy(opened: IngestOpened): string {
  const why = opened.why?.();
  return why ? `cut (${why})` : 'cut';
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
