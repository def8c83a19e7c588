/**
 * Writing a whole small file so that a reader sees the old one or the new one, never half of either: write a
 * temporary name on the same file system, then rename(2) it over the target. The one place ecrx does this for
 * files it holds in memory (a docker config, a cache index entry, the emulator's records); blobs stream to their
 * own temporary files and are renamed by their stores.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** The new file's mode (default 0o666 less the umask). */
  mode?: number;
  /** Where to write first; it must be on the target's file system (default: a hidden name beside the target). */
  tmp?: string;
}

/** A fresh temporary name beside `path`, hidden, ending in .tmp so that sweeps of stale temporaries find it. */
export function tempPathBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.ecrx-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
}

/** Replaces `path` with `data` atomically; on failure the temporary file is removed and the target untouched. */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const tmp = opts.tmp ?? tempPathBeside(path);
  try {
    await fsp.writeFile(tmp, data, { mode: opts.mode ?? 0o666, flag: 'wx' });
    await fsp.rename(tmp, path);
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** writeFileAtomic for synchronous callers (the emulator's store). */
export function writeFileAtomicSync(path: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  const tmp = opts.tmp ?? tempPathBeside(path);
  try {
    writeFileSync(tmp, data, { mode: opts.mode ?? 0o666, flag: 'wx' });
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
