/**
 * Writes every byte or throws. fs writes may be short (a file-size limit, a nearly full disk, a signal) without an
 * error; the next write then reports why. Ignoring the count would leave a file shorter than the hash computed
 * over the bytes that were meant to be in it.
 */
import { writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

export async function writeAll(fh: FileHandle, chunks: Buffer[], position: number): Promise<void> {
  const total = chunks.reduce((n, c) => n + c.length, 0);
  let done = (await fh.writev(chunks, position)).bytesWritten;
  if (done === total) return;
  let skip = done;
  for (const chunk of chunks) {
    if (skip >= chunk.length) {
      skip -= chunk.length;
      continue;
    }
    let rest = chunk.subarray(skip);
    skip = 0;
    while (rest.length) {
      const { bytesWritten } = await fh.write(rest, 0, rest.length, position + done);
      if (bytesWritten === 0)
        throw Object.assign(new Error(`A write made no progress at byte ${position + done}`), { code: 'EIO' });
      done += bytesWritten;
      rest = rest.subarray(bytesWritten);
    }
  }
}

/** The same for a descriptor written synchronously (many small files one after another, where a thread-pool hop per call costs more than the write). */
export function writeAllSync(fd: number, chunk: Buffer, position: number): void {
  let done = 0;
  while (done < chunk.length) {
    const n = writeSync(fd, chunk, done, chunk.length - done, position + done);
    if (n === 0) throw Object.assign(new Error(`A write made no progress at byte ${position + done}`), { code: 'EIO' });
    done += n;
  }
}
