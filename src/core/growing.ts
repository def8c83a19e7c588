/**
 * A file still being written, as its reader sees it: the bytes up to `available` are final (written, in order,
 * and hashed by the writer), the rest may not exist yet. The writer (a cache fill) says where its file is, how far
 * the contiguous prefix reaches, and how it ended; a reader (a streaming upload) waits for the bytes it needs.
 *
 * A writer that starts the blob again (a digest mismatch retried once, a server that ignored Range) calls
 * `prefix(0)` before it touches a byte already announced: every reader waiting or reading then fails with
 * GrowingRestarted and must start its own work again. Reads are checked against the generation after they finish,
 * so bytes read while the file was being rewritten are never used.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

export class GrowingRestarted extends Error {
  constructor() {
    super('the file being read was started again by its writer');
  }
}

interface Waiter {
  bytes: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** What a fill tells a growing file (download.ts, and the ranged fill that replaces it, call these). */
export interface GrowingWriter {
  /** The temporary file being written, once it exists. */
  started(path: string): void;
  /** The contiguous prefix written and hashed so far; 0 (or less than before) when the fill starts again. */
  prefix(bytes: number): void;
}

export class GrowingFile implements GrowingWriter {
  private path?: string;
  private availableBytes = 0;
  private generation = 0;
  private failure?: unknown;
  private complete = false;
  private waiters: Waiter[] = [];
  private opened?: Promise<FileHandle>;

  /** `finalPath` is where the file is once complete (a cache renames its temporary file there). */
  constructor(
    readonly size: number,
    private readonly finalPath: string,
  ) {}

  get available(): number {
    return this.availableBytes;
  }

  // ---- the writer's side ----

  /** The temporary file the writer writes into; opened for reading at once, so a later rename does not matter. */
  started(path: string): void {
    this.path = path;
    this.opened ??= openFile(path);
    this.opened.catch(() => undefined);
  }

  /** The contiguous prefix written and hashed so far; a smaller value than before means the writer started again. */
  prefix(bytes: number): void {
    if (bytes < this.availableBytes) {
      this.generation++;
      this.availableBytes = bytes;
      this.settle(new GrowingRestarted());
      return;
    }
    this.availableBytes = Math.min(bytes, this.size);
    this.settle();
  }

  /** Every byte is verified and the file is at `finalPath`. */
  done(): void {
    this.complete = true;
    this.availableBytes = this.size;
    this.settle();
  }

  /** The writer failed for good: readers fail with its error. */
  fail(err: unknown): void {
    this.failure = err;
    this.settle();
  }

  // ---- the reader's side ----

  /** Fills `buf` with the file's bytes at `position`, waiting until they are final. */
  async read(buf: Buffer, position: number, signal?: AbortSignal): Promise<void> {
    const gen = this.generation;
    await this.waitFor(position + buf.length, signal);
    if (gen !== this.generation) throw new GrowingRestarted();
    const fh = await this.handle();
    const { bytesRead } = await fh.read(buf, 0, buf.length, position);
    if (gen !== this.generation) throw new GrowingRestarted();
    if (bytesRead !== buf.length) throw new Error(`read ${bytesRead} of ${buf.length} bytes at ${position}`);
  }

  async close(): Promise<void> {
    const fh = await this.opened?.catch(() => undefined);
    this.opened = undefined;
    await fh?.close().catch(() => undefined);
  }

  /** Resolves once the writer has verified every byte; fails if it starts again or fails. */
  async verified(signal?: AbortSignal): Promise<void> {
    const gen = this.generation;
    await this.waitFor(Number.POSITIVE_INFINITY, signal);
    if (gen !== this.generation) throw new GrowingRestarted();
  }

  private async handle(): Promise<FileHandle> {
    // A blob found complete in the cache never had a temporary file.
    this.opened ??= openFile(this.path ?? this.finalPath);
    try {
      return await this.opened;
    } catch (err) {
      // The temporary file was renamed before it could be opened: it is at its final place now.
      if (!this.complete || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.opened = openFile(this.finalPath);
      return this.opened;
    }
  }

  private waitFor(bytes: number, signal?: AbortSignal): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.complete || this.availableBytes >= bytes) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        bytes,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (err) => {
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      this.waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private settle(restarted?: unknown): void {
    const err = this.failure ?? restarted;
    const keep: Waiter[] = [];
    for (const w of this.waiters) {
      if (err !== undefined) w.reject(err);
      else if (this.complete || this.availableBytes >= w.bytes) w.resolve();
      else keep.push(w);
    }
    this.waiters = keep;
  }
}

/** Read-only and never blocking (a FIFO where a file should be would hang a plain open). */
async function openFile(path: string): Promise<FileHandle> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  if (!(await fh.stat()).isFile()) {
    await fh.close();
    throw new Error(`${path} is not a regular file`);
  }
  return fh;
}
